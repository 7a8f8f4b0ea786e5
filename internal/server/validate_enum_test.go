package server

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestCommonEnumKnown: the enums every check carries are known by table
// exactly when their descriptor names the number; other enums are left to
// the descriptor.
func TestCommonEnumKnown(t *testing.T) {
	for _, e := range []func(int32) protoreflect.Enum{
		func(n int32) protoreflect.Enum { return noflyv1.Purpose(n) },
		func(n int32) protoreflect.Enum { return noflyv1.VerticalReference(n) },
		func(n int32) protoreflect.Enum { return noflyv1.OperationCategory(n) },
		func(n int32) protoreflect.Enum { return noflyv1.CheckView(n) },
	} {
		known := 0
		for n := int32(-70); n <= 70; n++ {
			v := e(n)
			byDescriptor := v.Descriptor().Values().ByNumber(v.Number()) != nil
			// Outside 0 to 63 the table knows nothing; the descriptor decides.
			if got := commonEnumKnown(v); got != (byDescriptor && n >= 0 && n < 64) {
				t.Fatalf("%s %d: known by table %v, by descriptor %v", v.Descriptor().FullName(), n, got, byDescriptor)
			}
			if byDescriptor {
				known++
			}
		}
		if known < 2 {
			t.Fatalf("%s: %d values", e(0).Descriptor().FullName(), known)
		}
	}
	if commonEnumKnown(noflyv1.Restriction(1)) {
		t.Fatal("an enum without a table is known by one")
	}
}
