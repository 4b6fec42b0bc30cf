package relay

import "time"

// workers runs the relay's tasks (serving a new connection, resuming a
// parked one) on goroutines that wait for the next task for a while after
// one ends, instead of on a new goroutine each: a new goroutine starts
// with a 2 KiB stack and grows it, copying, through coder/websocket's and
// net/http's calls (8% of the relay's CPU at 2,500 sessions a second),
// where a waiting one has grown it already. Idle goroutines end after
// workerIdle, or at Shutdown.
type workers struct {
	tasks chan func() // unbuffered: a send succeeds only if a worker waits
	stop  <-chan struct{}
}

// workerIdle is how long a worker waits for its next task.
const workerIdle = time.Second

func newWorkers(stop <-chan struct{}) *workers {
	return &workers{tasks: make(chan func()), stop: stop}
}

// run runs f on a waiting worker, or on a new one.
func (w *workers) run(f func()) {
	select {
	case w.tasks <- f:
	default:
		go w.work(f)
	}
}

func (w *workers) work(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil
		idle.Reset(workerIdle)
		select {
		case f = <-w.tasks:
		case <-idle.C:
			return
		case <-w.stop:
			return
		}
	}
}
