package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.util.concurrent.ExecutorService;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.session.ServerSession;

/**
 * One SSH session channel: an {@code exec} request (one command of the language, its exit status
 * returned) or a {@code shell} request (line mode: {@code kubejit> } prompt, each line one command,
 * checked the same way; there is no shell on the gateway and no TTY into pods).
 */
final class GatewayChannel implements Command {
  private final Runner runner;
  private final LiveSessions live;
  private final ExecutorService executor;
  private final String commandText;
  private final Runner.Running[] current = new Runner.Running[1];
  private InputStream in;
  private OutputStream out;
  private OutputStream err;
  private ExitCallback exit;
  private final java.util.concurrent.atomic.AtomicBoolean exited = new java.util.concurrent.atomic.AtomicBoolean();

  /** {@code commandText} null means line mode. */
  GatewayChannel(Runner runner, LiveSessions live, ExecutorService executor, String commandText) {
    this.runner = runner;
    this.live = live;
    this.executor = executor;
    this.commandText = commandText;
  }

  @Override
  public void setInputStream(InputStream in) {
    this.in = in;
  }

  @Override
  public void setOutputStream(OutputStream out) {
    this.out = out;
  }

  @Override
  public void setErrorStream(OutputStream err) {
    this.err = err;
  }

  @Override
  public void setExitCallback(ExitCallback callback) {
    this.exit = callback;
  }

  @Override
  public void start(ChannelSession channel, Environment env) {
    ServerSession session = channel.getServerSession();
    Login login = session.getAttribute(Login.KEY);
    String sid = CertificateLogin.sessionId(session);
    executor.execute(() -> {
      int code;
      try {
        if (login == null) {
          code = Runner.report(err, "gateway:login", "no certificate login on this session");
        } else if (commandText != null) {
          code = one(session, login, sid, commandText, true);
        } else {
          code = lineMode(session, login, sid);
        }
      } catch (RuntimeException e) {
        Runner.writeQuietly(err, "kubejit: internal error (" + e.getClass().getSimpleName() + ")\n");
        code = Runner.EXIT_UNAVAILABLE;
      }
      finish(code);
    });
  }

  private void finish(int code) {
    if (exited.compareAndSet(false, true)) {
      exit.onExit(code);
    }
  }

  private int one(ServerSession session, Login login, String sid, String text, boolean withStdin) {
    CommandLine cmd;
    try {
      cmd = CommandLine.parse(text);
    } catch (CommandLine.UsageException e) {
      Runner.writeQuietly(err, "kubejit: " + e.getMessage() + "\n" + CommandLine.USAGE);
      return Runner.EXIT_USAGE;
    }
    if (cmd.kind == CommandLine.Kind.HELP) {
      Runner.writeQuietly(out, CommandLine.USAGE);
      return 0;
    }
    if (cmd.kind == CommandLine.Kind.EXIT) {
      return 0;
    }
    if (cmd.stdin && !withStdin) {
      return Runner.report(err, "gateway:line-mode", "-i is not available in line mode; use ssh ... -- exec POD -i -- ARGV");
    }
    Runner.Running running = new Runner.Running();
    synchronized (current) {
      current[0] = running;
    }
    live.register(session, running);
    try {
      return runner.run(login, sid, cmd, in, out, err, running);
    } finally {
      live.unregister(session, running);
      synchronized (current) {
        current[0] = null;
      }
    }
  }

  private int lineMode(ServerSession session, Login login, String sid) {
    // Registered for the whole session: a grant that ends while the prompt waits ends the channel too.
    Runner.Running idle = new Runner.Running();
    idle.onCut(message -> {
      boolean busy;
      synchronized (current) {
        busy = current[0] != null;
      }
      if (!busy) {
        Runner.writeQuietly(err, "\nkubejit: " + message + "\n");
      }
      finish(Runner.EXIT_REFUSED);
    });
    live.register(session, idle);
    try {
      return lineLoop(session, login, sid);
    } finally {
      live.unregister(session, idle);
    }
  }

  private int lineLoop(ServerSession session, Login login, String sid) {
    BufferedReader r = new BufferedReader(new InputStreamReader(in, UTF_8));
    Runner.writeQuietly(out, "KubeJIT gateway: grant " + login.grant + " for " + login.principal
        + ". Type help for the commands; there is no shell.\n");
    try {
      while (true) {
        Runner.writeQuietly(out, "kubejit> ");
        String line = r.readLine();
        if (line == null) {
          return 0;
        }
        line = line.strip();
        if (line.isEmpty()) {
          continue;
        }
        if (line.equals("exit") || line.equals("quit")) {
          return 0;
        }
        one(session, login, sid, line, false);
        if (live.isCut(session)) {
          return Runner.EXIT_REFUSED;
        }
      }
    } catch (IOException e) {
      return 0;
    }
  }

  @Override
  public void destroy(ChannelSession channel) {
    Runner.Running r;
    synchronized (current) {
      r = current[0];
    }
    if (r != null) {
      r.cut("the SSH channel was closed");
    }
  }
}
