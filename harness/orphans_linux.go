// Orphans (leakcheck --check processes): a process a test starts that
// outlives its parent (a daemon's double fork, `sh -c 'cmd &'`) is
// reparented to the nearest "child subreaper" among its ancestors, else
// to init, out of leakcheck's sight. With adopt=1 this process is one, so
// that such a process stays among its descendants while it runs.

package testing

import "syscall"

const leakcheckSetChildSubreaper = 36 // PR_SET_CHILD_SUBREAPER

func leakcheckAdoptOrphans() {
	syscall.RawSyscall(syscall.SYS_PRCTL, leakcheckSetChildSubreaper, 1, 0)
}
