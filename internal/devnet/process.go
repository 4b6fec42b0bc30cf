package devnet

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

const (
	// stopGrace is how long a process has to exit after SIGINT before it gets SIGKILL.
	// kaspad flushes its database on SIGINT; on a devnet that takes well under a second.
	stopGrace = 15 * time.Second
	// killWait bounds the wait after SIGKILL, which only a hung kernel outlasts.
	killWait = 10 * time.Second
)

// process is a child program with its output in a log file. One goroutine waits for it; it
// ends when the program does, which stop guarantees.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed once the program has exited and its output is written
	waitErr error         // valid after done
}

func startProcess(name, logPath string, tee io.Writer, env []string, path string, args ...string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devnet: %s log: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	if tee != nil {
		w := io.MultiWriter(f, tee)
		cmd.Stdout, cmd.Stderr = w, w
	} else {
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.WaitDelay = 5 * time.Second // bounds the output copy should a grandchild hold the pipe
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("devnet: starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: f, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGINT, then SIGKILL after stopGrace, and returns once the program has exited.
// It tells whether SIGKILL was needed.
func (p *process) stop() (killed bool, err error) {
	if p.exited() {
		return false, nil
	}
	// On Windows os.Interrupt cannot be sent: the error sends us straight to Kill.
	if err := p.cmd.Process.Signal(os.Interrupt); err == nil {
		t := time.NewTimer(stopGrace)
		defer t.Stop()
		select {
		case <-p.done:
			return false, nil
		case <-t.C:
		}
	}
	_ = p.cmd.Process.Kill()
	t := time.NewTimer(killWait)
	defer t.Stop()
	select {
	case <-p.done:
		return true, nil
	case <-t.C:
		return true, fmt.Errorf("devnet: %s (pid %d) still running %s after SIGKILL", p.name, p.pid(), killWait)
	}
}

// logTail returns the last lines of the program's output.
func (p *process) logTail() string {
	return fileTail(p.logPath, 40)
}

// exitError describes how the program ended, with the tail of its log; call it after done.
func (p *process) exitError(sentinel error) error {
	return fmt.Errorf("%w (pid %d, %v); last lines of %s:\n%s", sentinel, p.pid(), p.waitErr, p.logPath, p.logTail())
}

func fileTail(path string, maxLines int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const window = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		_, _ = f.Seek(fi.Size()-window, io.SeekStart)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(reading log: %v)", err)
	}
	return tail(b, maxLines)
}

// lockedWriter lets kaspad's and the miners' output share one io.Writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
