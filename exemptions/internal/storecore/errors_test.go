package storecore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nofly-project/nofly/exemptions"
)

// The store's errors about a record carry its id as a value; the text is
// "ID: " and the cause's.
func TestIDError(t *testing.T) {
	err := fmt.Errorf("record check: %w", NotInForce([]string{"EX-1", "EX-2"}, map[string]RecordState{"EX-1": {}, "EX-2": {Revoked: true}}))
	var ide *exemptions.IDError
	if !errors.As(err, &ide) || ide.ID != "EX-2" || !errors.Is(err, exemptions.ErrNotInForce) {
		t.Fatalf("%v: want an *IDError for EX-2 wrapping ErrNotInForce", err)
	}
	if want := "record check: EX-2: exemption applied by the check is no longer in force: revoked"; err.Error() != want {
		t.Errorf("text %q, want %q", err, want)
	}
	if err := IDError("EX-3", exemptions.ErrRevoked); !exemptions.IsFailedPrecondition(err) || err.Error() != "EX-3: exemption already revoked" {
		t.Errorf("revoked: %v", err)
	}
}
