package dev.kubejit.credentials;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a real external tool (openssl, ssh-keygen, ssh, kubectl) and captures its output. */
public final class Exec {
  public final int exit;
  public final String out;
  public final String err;

  private Exec(int exit, String out, String err) {
    this.exit = exit;
    this.out = out;
    this.err = err;
  }

  public static Exec run(Path dir, String... cmd) {
    return run(dir, Map.of(), null, cmd);
  }

  public static Exec run(Path dir, Map<String, String> env, byte[] stdin, String... cmd) {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      Thread to = pump(p.getInputStream(), out);
      Thread te = pump(p.getErrorStream(), err);
      if (stdin != null) {
        p.getOutputStream().write(stdin);
      }
      p.getOutputStream().close();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + List.of(cmd));
      }
      to.join();
      te.join();
      return new Exec(p.exitValue(), out.toString(UTF_8), err.toString(UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  public static Exec ok(Path dir, String... cmd) {
    Exec e = run(dir, cmd);
    if (e.exit != 0) {
      throw new AssertionError(List.of(cmd) + " exited " + e.exit + "\nstdout: " + e.out + "\nstderr: " + e.err);
    }
    return e;
  }

  private static Thread pump(InputStream in, ByteArrayOutputStream sink) {
    Thread t = new Thread(() -> {
      try {
        in.transferTo(sink);
      } catch (IOException ignored) {
        // process went away
      }
    });
    t.setDaemon(true);
    t.start();
    return t;
  }

  public static List<String> list(String... parts) {
    return new ArrayList<>(List.of(parts));
  }

  @Override
  public String toString() {
    return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
  }
}
