package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a kioskwall process the benchmark started (the kiosks or the
// server). Its stdout is scanned for the lines that say where it listens;
// stdout and stderr both go to a log file in the work dir.
type child struct {
	name  string
	cmd   *exec.Cmd
	log   string
	lines chan string   // stdout lines, until the process closes stdout
	done  chan struct{} // closed when the process has exited
	err   error         // how it exited; read after done
}

// stopWait is how long a child may take to stop after an interrupt before
// it is killed.
const stopWait = 20 * time.Second

// startChild runs exe with args. The process ends with ctx at the latest.
func startChild(ctx context.Context, name, exe string, args []string, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopWait
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, exe, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, lines: make(chan string, 64), done: make(chan struct{})}
	// The scanner ends when the process closes stdout, which it does by
	// exiting at the latest; Wait then reaps it.
	go func() {
		defer close(c.done)
		defer logf.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			select {
			case c.lines <- sc.Text():
			default: // nobody is waiting for lines any more; the log has them
			}
		}
		close(c.lines)
		c.err = cmd.Wait()
	}()
	return c, nil
}

// await returns the text after prefix in the first stdout line that
// starts with it.
func (c *child) await(ctx context.Context, prefix string, limit time.Duration) (string, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				<-c.done
				return "", fmt.Errorf("%s exited (%v) before saying %q%s", c.name, c.err, prefix, c.tail())
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return rest, nil
			}
		case <-t.C:
			return "", fmt.Errorf("%s did not say %q within %v%s", c.name, prefix, limit, c.tail())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// stop interrupts the process and waits for it to exit. One that is still
// running after stopWait gets SIGQUIT, so that Go writes where every
// goroutine hangs into its log, and is killed a little later. It is safe to
// call more than once.
func (c *child) stop() error {
	select {
	case <-c.done:
		return c.exitErr()
	default:
	}
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
		return c.exitErr()
	case <-time.After(stopWait):
	}
	c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	return fmt.Errorf("%s did not exit within %v of an interrupt; its goroutines are dumped at the end of %s", c.name, stopWait, c.log)
}

// exitErr is how the process ended: nil for a clean exit on an interrupt.
func (c *child) exitErr() error {
	if c.err == nil {
		return nil
	}
	return fmt.Errorf("%s: %v%s", c.name, c.err, c.tail())
}

// dead reports an early exit: the process ended while the run needed it.
func (c *child) dead() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited during the run (%v)%s", c.name, c.err, c.tail())
	default:
		return nil
	}
}

// tail is the end of the child's log, to show with an error.
func (c *child) tail() string {
	b, err := os.ReadFile(c.log)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return "; the end of its log (" + c.log + "):\n" + string(b)
}

// procUsage is what the kernel says of a process: CPU time used and memory.
type procUsage struct {
	cpu     time.Duration // user + system
	rss     int64         // resident now, bytes
	rssPeak int64         // resident at most so far (VmHWM), bytes
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports, whatever the kernel's own tick rate.
const clockTicks = 100

// readUsage reads /proc/<pid>/stat and /proc/<pid>/status.
func readUsage(pid int) (procUsage, error) {
	var u procUsage
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return u, err
	}
	// The command name in parentheses may hold spaces; fields follow the
	// last ')'. utime and stime are fields 14 and 15 of the line.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return u, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 13", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return u, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	u.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || name != "VmRSS" && name != "VmHWM" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return u, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		if name == "VmRSS" {
			u.rss = kb << 10
		} else {
			u.rssPeak = kb << 10
		}
	}
	return u, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }
