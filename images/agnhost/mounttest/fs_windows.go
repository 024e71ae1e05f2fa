//go:build windows

package mounttest

import "fmt"

// owner is not reported on Windows: files belong to SIDs, not UIDs, and the
// standard library exposes neither.
func owner(path string) (uid, gid uint32, err error) {
	return 0, 0, fmt.Errorf("owner of %q: UIDs do not exist on windows", path)
}
