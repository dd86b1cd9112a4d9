package dev.kubejit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The command-line tools people use instead, run as one process per certificate as a script
 * would: {@code openssl x509 -req} (Ed25519 and P-256 CAs) and {@code ssh-keygen -s} (Ed25519 CA).
 * Each figure is the median wall time of {@code runs} processes after two unmeasured ones.
 */
final class Tools {
  final double opensslEd25519Ms;
  final double opensslP256Ms;
  final double sshKeygenMs;

  private Tools(double opensslEd25519Ms, double opensslP256Ms, double sshKeygenMs) {
    this.opensslEd25519Ms = opensslEd25519Ms;
    this.opensslP256Ms = opensslP256Ms;
    this.sshKeygenMs = sshKeygenMs;
  }

  static Tools measure(int runs) throws IOException, InterruptedException {
    System.err.println("running openssl and ssh-keygen, " + runs + " processes each ...");
    Path dir = Files.createTempDirectory("kubejit-bench-tools");
    try {
      double ed = openssl(dir, "ed", runs, "-algorithm", "ed25519");
      double p256 = openssl(dir, "p256", runs, "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256");
      run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", "ssh_ca");
      run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", "id_user");
      double ssh = median(dir, runs, i -> new String[] {"ssh-keygen", "-q", "-s", "ssh_ca", "-I", "kubejit:bench:" + i,
          "-n", "alice", "-V", "+30m", "-z", Integer.toString(i + 3), "id_user.pub"});
      return new Tools(ed, p256, ssh);
    } finally {
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static double openssl(Path dir, String tag, int runs, String... keyOpts) throws IOException, InterruptedException {
    List<String> gen = new ArrayList<>(List.of("openssl", "genpkey"));
    gen.addAll(List.of(keyOpts));
    List<String> ca = new ArrayList<>(gen);
    ca.addAll(List.of("-out", tag + "-ca.key"));
    run(dir, ca.toArray(String[]::new));
    run(dir, "openssl", "req", "-x509", "-new", "-key", tag + "-ca.key", "-subj", "/CN=bench-ca", "-days", "1",
        "-out", tag + "-ca.crt");
    List<String> user = new ArrayList<>(gen);
    user.addAll(List.of("-out", tag + "-user.key"));
    run(dir, user.toArray(String[]::new));
    run(dir, "openssl", "req", "-new", "-key", tag + "-user.key", "-subj", "/CN=alice/O=kubejit:grant:0123456789abcdef",
        "-out", tag + "-user.csr");
    return median(dir, runs, i -> new String[] {"openssl", "x509", "-req", "-in", tag + "-user.csr", "-CA", tag + "-ca.crt",
        "-CAkey", tag + "-ca.key", "-set_serial", Integer.toString(1000 + i), "-days", "1", "-out", tag + "-user.crt"});
  }

  interface Command {
    String[] of(int i);
  }

  private static double median(Path dir, int runs, Command c) throws IOException, InterruptedException {
    run(dir, c.of(-2));
    run(dir, c.of(-1));
    List<Double> ms = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      long t = System.nanoTime();
      run(dir, c.of(i));
      ms.add((System.nanoTime() - t) / 1e6);
    }
    ms.sort(Double::compare);
    return runs % 2 == 1 ? ms.get(runs / 2) : (ms.get(runs / 2 - 1) + ms.get(runs / 2)) / 2;
  }

  private static void run(Path dir, String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    int rc = p.waitFor();
    if (rc != 0) {
      throw new IOException(String.join(" ", cmd) + " exited with " + rc);
    }
  }
}
