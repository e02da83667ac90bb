package realvnc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is one program started for a server, in its own process group so that
// stopping it also stops anything it forked. Its stdout and stderr go to a
// log file whose tail failure messages quote.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // the exit status, valid once done is closed
}

// stopGrace is how long a process gets to exit after SIGTERM before SIGKILL:
// X servers remove their sockets and lock files on SIGTERM.
const stopGrace = 3 * time.Second

// startProc runs name with args, logging to dir/logName. extra become the
// child's file descriptors 3, 4, ….
func startProc(dir, logName, name string, args []string, extra ...*os.File) (*proc, error) {
	logPath := filepath.Join(dir, logName)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy
	fmt.Fprintf(logFile, "+ %s %q\n", name, args)
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	// The reaper is owned by p: it ends when the process does, and stop
	// makes sure of that.
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after stopGrace.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
		}
	}
	// Kill what is left of the group even when the leader is gone: a child
	// that outlived it still belongs to the group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// tailBytes is how much of a log failure messages quote.
const tailBytes = 2048

// tail returns the end of the process's log, labelled with its name.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return fmt.Sprintf("\n--- %s log: %v", p.name, err)
	}
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	state := "running"
	if p.exited() {
		state = fmt.Sprintf("exited: %v", p.err)
	}
	return fmt.Sprintf("\n--- %s (pid %d, %s), end of %s:\n%s", p.name, p.cmd.Process.Pid, state, p.log, b)
}
