package samples

import (
	"os"
	"testing"
)

func TestReadRequestsFromADirectory(t *testing.T) {
	got, err := ReadRequests(os.DirFS("requests"), ".")
	if err != nil {
		t.Fatal(err)
	}
	want := Requests()
	if len(got) != len(want) || len(got) != len(ExpectedCases().Cases) {
		t.Fatalf("%d requests from the directory, %d embedded, %d expected", len(got), len(want), len(ExpectedCases().Cases))
	}
	for i := range got {
		if got[i].Name != want[i].Name || string(got[i].Raw) != string(want[i].Raw) {
			t.Errorf("%s differs from the embedded copy", got[i].Name)
		}
	}
}
