package reply

import (
	"time"

	"github.com/cpam/attestd/rules"
)

// sampleData returns the data LoadReplies renders each template with to
// check it: a full value (every list filled, every flag set) and a minimal
// one (only what a real reply of that outcome always has). The people are
// made up.
func sampleData(o rules.Outcome) []any {
	svc := DefaultServiceInfo()
	if kindOf(o) == generic {
		return []any{
			GenericData{Outcome: o, Reference: "ATT-20000101-CHECK", Service: svc},
			GenericData{Outcome: o, Reference: "ATT-20000101-CHECK", ByNIR: true, Service: svc,
				RetryAfter: time.Date(2000, 1, 2, 9, 5, 0, 0, time.UTC)},
			GenericData{Outcome: o},
		}
	}
	alex := Person{FirstName: "ALEX", Birth: "01/01/2000"}
	sam := Person{FirstName: "SAM", Birth: "02/02/2002"}
	full := PersonalData{
		Outcome:       o,
		Reference:     "ATT-20000101-CHECK",
		FileName:      "attestation-droits-famille-EXEMPLE-20000101.pdf",
		Family:        true,
		Covered:       []Covered{{Person: alex, Mentions: []string{MentionLabel(rules.MentionETM), MentionLabel(rules.MentionC2S)}}, {Person: sam}},
		NotCovered:    []Person{sam, alex},
		Refused:       []RefusedMention{{FirstName: sam.FirstName, Mention: MentionLabel(rules.MentionETM)}, {FirstName: alex.FirstName, Mention: MentionLabel(rules.MentionC2S)}},
		Beneficiaries: []Person{alex, sam},
		Service:       svc,
	}
	minimal := PersonalData{
		Outcome:       o,
		FileName:      "attestation-droits-EXEMPLE-ALEX-20000101.pdf",
		Covered:       []Covered{{Person: alex}},
		Beneficiaries: []Person{alex},
	}
	return []any{full, minimal}
}
