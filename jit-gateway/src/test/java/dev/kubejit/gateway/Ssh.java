package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The real OpenSSH client against the gateway on 127.0.0.1, with a throwaway configuration. */
final class Ssh {
  static final String HOST_ALIAS = "kubejit-gateway";

  final int port;
  final Path knownHosts;

  Ssh(int port, Path knownHosts) {
    this.port = port;
    this.knownHosts = knownHosts;
  }

  /** The common options: strict host checking against the @cert-authority line only, no agent, no config. */
  List<String> base(String user, Path identity, Path certificate) {
    return base(user, identity, certificate, "ERROR");
  }

  /** As {@link #base(String, Path, Path)} with another log level (INFO shows a refused forward's open failure). */
  List<String> base(String user, Path identity, Path certificate, String logLevel) {
    List<String> a = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(port),
        "-o", "HostKeyAlias=" + HOST_ALIAS, "-o", "UserKnownHostsFile=" + knownHosts,
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=10",
        "-o", "LogLevel=" + logLevel, "-l", user));
    if (identity != null) {
      a.addAll(List.of("-i", identity.toString()));
    }
    if (certificate != null) {
      a.addAll(List.of("-o", "CertificateFile=" + certificate));
    }
    return a;
  }

  Result run(List<String> options, String stdin, String remoteCommand) throws IOException, InterruptedException {
    List<String> a = new ArrayList<>(options);
    a.add("127.0.0.1");
    if (remoteCommand != null) {
      a.add(remoteCommand);
    }
    return exec(a, stdin, 60);
  }

  Started start(List<String> options, String remoteCommand) throws IOException {
    List<String> a = new ArrayList<>(options);
    a.add("127.0.0.1");
    if (remoteCommand != null) {
      a.add(remoteCommand);
    }
    Process p = new ProcessBuilder(a).start();
    p.getOutputStream().close();
    return new Started(p);
  }

  /**
   * Starts {@code ssh -N -L 127.0.0.1:LOCAL:target} with {@code options} and waits until ssh listens
   * on LOCAL (or has exited, for a refused login). It waits without connecting: every connection to
   * LOCAL would be a forward.
   */
  Forwarding forward(List<String> options, String target) throws IOException, InterruptedException {
    int local;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      local = s.getLocalPort();
    }
    List<String> opts = new ArrayList<>(options);
    opts.addAll(List.of("-N", "-o", "ExitOnForwardFailure=yes", "-L", "127.0.0.1:" + local + ":" + target));
    Started started = start(opts, null);
    long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
    while (!listening(local)) {
      if (!started.process.isAlive()) {
        return new Forwarding(started, local, false);
      }
      if (System.nanoTime() > deadline) {
        started.process.destroyForcibly();
        throw new AssertionError("ssh -L never listened; stderr " + started.err.text());
      }
      Thread.sleep(50);
    }
    return new Forwarding(started, local, true);
  }

  /** Whether something listens on 127.0.0.1:port (Linux's /proc/net/tcp, state 0A). */
  static boolean listening(int port) throws IOException {
    String local = String.format("0100007F:%04X", port);
    for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/net/tcp"))) {
      String[] f = line.strip().split("\\s+");
      if (f.length > 3 && f[1].equals(local) && f[3].equals("0A")) {
        return true;
      }
    }
    return false;
  }

  /** A running {@code ssh -N -L}. */
  static final class Forwarding implements AutoCloseable {
    final Started ssh;
    final int port;
    final boolean listening;

    Forwarding(Started ssh, int port, boolean listening) {
      this.ssh = ssh;
      this.port = port;
      this.listening = listening;
    }

    /** GET {@code path} through the forward (a fresh connection each time). */
    HttpResponse<String> get(String path) throws IOException, InterruptedException {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(java.time.Duration.ofSeconds(10)).build();
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(java.time.Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Connects to the local port and reads until the connection ends; -1 when it closed without data. */
    int connectAndRead() throws IOException {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        s.setSoTimeout(30_000);
        try {
          return s.getInputStream().read();
        } catch (java.net.SocketException reset) {
          return -1;
        }
      }
    }

    /** Waits until ssh's stderr contains {@code needle}. */
    void awaitStderr(String needle) throws InterruptedException {
      long deadline = System.nanoTime() + java.time.Duration.ofSeconds(20).toNanos();
      while (!ssh.err.text().contains(needle)) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("no " + needle + " from ssh; stderr " + ssh.err.text());
        }
        Thread.sleep(50);
      }
    }

    @Override
    public void close() throws InterruptedException {
      ssh.process.destroy();
      if (!ssh.process.waitFor(10, TimeUnit.SECONDS)) {
        ssh.process.destroyForcibly();
      }
    }
  }

  static Result exec(List<String> argv, String stdin, int timeoutSeconds) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(argv).start();
    Drain out = new Drain(p.getInputStream());
    Drain err = new Drain(p.getErrorStream());
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(UTF_8));
    }
    p.getOutputStream().close();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out after " + timeoutSeconds + " s: " + argv + "\nstdout: " + out.text()
          + "\nstderr: " + err.text());
    }
    out.finish();
    err.finish();
    return new Result(p.exitValue(), out.text(), err.text());
  }

  /** Single-quotes each word for the gateway's command language. */
  static String quote(String... words) {
    StringBuilder b = new StringBuilder();
    for (String w : words) {
      if (b.length() > 0) {
        b.append(' ');
      }
      b.append('\'').append(w.replace("'", "'\\''")).append('\'');
    }
    return b.toString();
  }

  static final class Started {
    final Process process;
    final Drain out;
    final Drain err;

    Started(Process p) {
      this.process = p;
      this.out = new Drain(p.getInputStream());
      this.err = new Drain(p.getErrorStream());
    }

    Result await(int seconds) throws InterruptedException {
      if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("ssh still running after " + seconds + " s; stdout: " + out.text() + " stderr: " + err.text());
      }
      out.finish();
      err.finish();
      return new Result(process.exitValue(), out.text(), err.text());
    }
  }

  static final class Drain extends Thread {
    private final InputStream in;
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    Drain(InputStream in) {
      this.in = in;
      setDaemon(true);
      start();
    }

    @Override
    public void run() {
      byte[] b = new byte[4096];
      int r;
      try {
        while ((r = in.read(b)) >= 0) {
          synchronized (buf) {
            buf.write(b, 0, r);
          }
        }
      } catch (IOException ignored) {
        // process gone
      }
    }

    String text() {
      synchronized (buf) {
        return buf.toString(UTF_8);
      }
    }

    void finish() throws InterruptedException {
      join(10_000);
    }
  }

  static final class Result {
    final int exit;
    final String out;
    final String err;

    Result(int exit, String out, String err) {
      this.exit = exit;
      this.out = out;
      this.err = err;
    }

    @Override
    public String toString() {
      return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
    }
  }
}
