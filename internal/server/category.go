package server

import (
	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
)

// Categories of operation: a zone published in variants for different
// categories (ED-269 uSpaceClass) counts in a check only in the flight's
// category, or in every category when the request gives none.

var categoryFromProto = map[noflyv1.OperationCategory]geo.Category{
	noflyv1.OperationCategory_OPERATION_CATEGORY_UNSPECIFIED: 0,
	noflyv1.OperationCategory_OPERATION_CATEGORY_OPEN:        geo.CategoryOpen,
	noflyv1.OperationCategory_OPERATION_CATEGORY_SPECIFIC:    geo.CategorySpecific,
	noflyv1.OperationCategory_OPERATION_CATEGORY_CERTIFIED:   geo.CategoryCertified,
}

// checkCategory reads a request's operation category.
func checkCategory(b *badRequest, field string, c noflyv1.OperationCategory) geo.Category {
	if !checkEnum(b, field, c) {
		return 0
	}
	return categoryFromProto[c]
}

// categoriesToProto lists the categories of a zone; none for every
// category.
func categoriesToProto(c geo.Category) []noflyv1.OperationCategory {
	var out []noflyv1.OperationCategory
	for _, pc := range []noflyv1.OperationCategory{noflyv1.OperationCategory_OPERATION_CATEGORY_OPEN,
		noflyv1.OperationCategory_OPERATION_CATEGORY_SPECIFIC, noflyv1.OperationCategory_OPERATION_CATEGORY_CERTIFIED} {
		if c&categoryFromProto[pc] != 0 {
			out = append(out, pc)
		}
	}
	return out
}
