"""A job-control shell, as small as the tests need: it leads a session on a new pseudo-terminal
and runs its arguments there as the foreground job, in a process group of their own, as an
interactive shell runs a command line.

Its stdout (a pipe to the test) gets what the terminal shows, a line at a time as
`tty: LINE`, and the job's state changes: `stopped N` (the job stopped with signal N; the
shell takes the terminal back, as shells do) and, last, `exited CODE` (negative: killed by
that signal). Its stdin takes commands, one a line:

  ctrl-z    type Ctrl-Z at the terminal (SIGTSTP to its foreground group)
  fg        give the terminal to the job and SIGCONT its group (`fg`)
  bg        SIGCONT its group, the terminal kept (`bg`)
  type X    type X and Enter at the terminal

End of its stdin kills the job.
"""

import fcntl
import os
import select
import signal
import sys
import termios

JOB_CONTROL = (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP)


def main():
    master, slave = os.openpty()
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for sig in JOB_CONTROL:
        signal.signal(sig, signal.SIG_IGN)
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        os.tcsetpgrp(slave, os.getpid())
        for sig in JOB_CONTROL + (signal.SIGPIPE, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.close(slave)
        os.execvp(sys.argv[1], sys.argv[1:])
    try:
        os.setpgid(job, job)
    except OSError:
        pass  # the job did it and exec'd already
    os.tcsetpgrp(slave, job)

    def say(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    shown = b""
    commands = b""
    status = None
    while True:
        ready, _, _ = select.select([master, 0], [], [], 0.05)
        if master in ready:
            try:
                shown += os.read(master, 65536)
            except OSError:
                pass
            *lines, shown = shown.split(b"\n")
            for line in lines:
                say("tty: " + line.decode(errors="replace").rstrip("\r"))
        if 0 in ready:
            data = os.read(0, 4096)
            if not data:
                os.killpg(job, signal.SIGKILL)
                os.killpg(job, signal.SIGCONT)
            commands += data
            *lines, commands = commands.split(b"\n")
            for line in lines:
                command = line.decode()
                if command == "ctrl-z":
                    os.write(master, b"\x1a")
                elif command == "fg":
                    os.tcsetpgrp(slave, job)
                    os.killpg(job, signal.SIGCONT)
                elif command == "bg":
                    os.killpg(job, signal.SIGCONT)
                elif command.startswith("type "):
                    os.write(master, command[5:].encode() + b"\n")
        if status is None:
            pid, raw = os.waitpid(job, os.WNOHANG | os.WUNTRACED)
            if pid and os.WIFSTOPPED(raw):
                os.tcsetpgrp(slave, os.getpgrp())
                say(f"stopped {os.WSTOPSIG(raw)}")
            elif pid:
                status = os.waitstatus_to_exitcode(raw)
        if status is not None and master not in ready:
            # Nothing more to show (the slave stays open here: no end of file to wait for).
            if shown:
                say("tty: " + shown.decode(errors="replace").rstrip("\r"))
            say(f"exited {status}")
            return


main()
