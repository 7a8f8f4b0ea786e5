package exemptions

import (
	"errors"
	"fmt"
	"testing"
)

// The store's errors about a record carry its id as a value; the text is
// "ID: " and the cause's.
func TestIDError(t *testing.T) {
	err := fmt.Errorf("record check: %w", notInForce([]string{"EX-1", "EX-2"}, map[string]recordState{"EX-1": {}, "EX-2": {revoked: true}}))
	var ide *IDError
	if !errors.As(err, &ide) || ide.ID != "EX-2" || !errors.Is(err, ErrNotInForce) {
		t.Fatalf("%v: want an *IDError for EX-2 wrapping ErrNotInForce", err)
	}
	if want := "record check: EX-2: exemption applied by the check is no longer in force: revoked"; err.Error() != want {
		t.Errorf("text %q, want %q", err, want)
	}
	if err := idError("EX-3", ErrRevoked); !IsFailedPrecondition(err) || err.Error() != "EX-3: exemption already revoked" {
		t.Errorf("revoked: %v", err)
	}
}
