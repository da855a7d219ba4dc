// Package request reads what a request asks from its French text: is it an
// attestation de droits request, for whom, with which mentions, and what
// does the author say about himself (SPEC section 3). It reads the author's
// own words that inbox.ParseMessage kept, and decides nothing: rules.Decide
// does, with the registry.
package request

import "github.com/cpam/attestd/inbox"

// fold is inbox.Fold, the folding the words of this package are written in.
var fold = inbox.Fold
