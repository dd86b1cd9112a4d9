package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Test fixture: a SoftHSM2 token of the test's own ({@code SOFTHSM2_CONF} in a temporary directory),
 * its PIN in a 0600 file, and an ECDSA P-256 key generated inside it by {@link SoftHsmKeyGen}
 * (sensitive, not extractable). Processes that use the token run through {@link #run}, which
 * passes {@code SOFTHSM2_CONF}.
 */
final class SoftHsmToken {
  static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");

  final Path conf;
  final Path pinFile;
  final String label;
  final String keyDescription;
  final byte[] publicKey;

  private SoftHsmToken(Path conf, Path pinFile, String label, String keyDescription, byte[] publicKey) {
    this.conf = conf;
    this.pinFile = pinFile;
    this.label = label;
    this.keyDescription = keyDescription;
    this.publicKey = publicKey;
  }

  /** Initialises a token labelled {@code token} under {@code dir} and generates the key {@code keyLabel} in it. */
  static SoftHsmToken create(Path dir, String token, String keyLabel) throws Exception {
    assertTrue(Files.isRegularFile(MODULE), "SoftHSM2 is missing: run scripts/test-deps.sh (package softhsm2)");
    Path tokens = Files.createDirectories(dir.resolve("softhsm/tokens"));
    Path conf = dir.resolve("softhsm/softhsm2.conf");
    Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
    Path pinFile = dir.resolve("pin");
    Files.writeString(pinFile, "4711-" + UUID.randomUUID() + "\n");
    Files.setPosixFilePermissions(pinFile, PosixFilePermissions.fromString("rw-------"));
    String pin = Files.readString(pinFile).strip();
    SoftHsmToken t = new SoftHsmToken(conf, pinFile, keyLabel, null, null);
    t.run(List.of("softhsm2-util", "--init-token", "--free", "--label", token, "--pin", pin, "--so-pin", "so-" + pin), Map.of());
    String[] keygen = t.run(List.of(java(), "-cp", System.getProperty("java.class.path"), SoftHsmKeyGen.class.getName(),
        MODULE.toString(), pinFile.toString(), keyLabel), Map.of()).split("\n");
    return new SoftHsmToken(conf, pinFile, keyLabel, keygen[0], Base64.getDecoder().decode(keygen[1].strip()));
  }

  /** The RFC 7512 URI of the key, PIN from the file. */
  String uri() {
    return "pkcs11:object=" + label + ";type=private?module-path=" + MODULE + "&pin-source=file:" + pinFile;
  }

  PublicKey publicKey() throws Exception {
    return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(publicKey));
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Runs a command with this token's SoftHSM configuration; returns its standard output, fails on a non-zero exit. */
  String run(List<String> command, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectError(ProcessBuilder.Redirect.PIPE)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().put("SOFTHSM2_CONF", conf.toString());
    pb.environment().putAll(env);
    Process p = pb.start();
    byte[] err = p.getErrorStream().readAllBytes();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), command.get(0) + " " + command.get(1) + " failed: " + out
        + new String(err, StandardCharsets.UTF_8));
    return out;
  }

  /** Like {@link #run} but returns exit code, stdout and stderr without asserting. */
  String[] exec(List<String> command, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command))
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().put("SOFTHSM2_CONF", conf.toString());
    pb.environment().putAll(env);
    Path errFile = Files.createTempFile("kubejit-softhsm", ".err");
    pb.redirectError(errFile.toFile());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(command + " did not finish in 120 s");
    }
    String err = Files.readString(errFile);
    Files.deleteIfExists(errFile);
    return new String[] {Integer.toString(p.exitValue()), out, err};
  }

  /** An SSH_ASKPASS script that answers ssh's PIN prompt from the PIN file, and the environment that makes ssh use it. */
  Map<String, String> askpassEnv(Path dir) throws Exception {
    Path askpass = dir.resolve("askpass.sh");
    Files.writeString(askpass, "#!/bin/sh\nexec cat '" + pinFile + "'\n");
    Files.setPosixFilePermissions(askpass, PosixFilePermissions.fromString("rwx------"));
    return Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force", "DISPLAY", ":0");
  }
}
