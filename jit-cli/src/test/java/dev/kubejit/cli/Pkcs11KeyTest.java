package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Pkcs11Key} against SoftHSM2: a key generated inside the token signs a CSR that verifies with
 * the token's public key; malformed URIs and a wrong PIN are refused with a message that names the
 * problem and never the PIN. The token is used from child JVMs that get {@code SOFTHSM2_CONF}.
 */
class Pkcs11KeyTest {
  static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");
  @TempDir static Path dir;
  static Path conf;
  static Path pinFile;
  static byte[] publicKey;

  @BeforeAll
  static void token() throws Exception {
    assertTrue(Files.isRegularFile(MODULE), "SoftHSM2 is missing: run scripts/test-deps.sh (package softhsm2)");
    Path tokens = Files.createDirectories(dir.resolve("tokens"));
    conf = dir.resolve("softhsm2.conf");
    Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
    pinFile = dir.resolve("pin");
    Files.writeString(pinFile, "pin-" + UUID.randomUUID() + "\n");
    Files.setPosixFilePermissions(pinFile, PosixFilePermissions.fromString("rw-------"));
    String pin = Files.readString(pinFile).strip();
    assertEquals(0, run("softhsm2-util", "--init-token", "--free", "--label", "t", "--pin", pin, "--so-pin", "so" + pin)
        .exit);
    Run keygen = run(java(), "-cp", System.getProperty("java.class.path"), SoftHsmKeyGen.class.getName(),
        MODULE.toString(), pinFile.toString(), "alice-key");
    assertEquals(0, keygen.exit, keygen.err);
    String[] lines = keygen.out.split("\n");
    assertTrue(lines[0].contains("token object, sensitive, unextractable") && lines[0].contains("encoded=none"), lines[0]);
    publicKey = Base64.getDecoder().decode(lines[1].strip());
  }

  @Test
  void csrIsSignedInsideTheTokenWithItsKey() throws Exception {
    Run r = csr("pkcs11:object=alice-key;token=t?module-path=" + MODULE + "&pin-source=file:" + pinFile);
    assertEquals(0, r.exit, r.err);
    PKCS10CertificationRequest csr = (PKCS10CertificationRequest) new PEMParser(new StringReader(r.out)).readObject();
    JcaPKCS10CertificationRequest jca = new JcaPKCS10CertificationRequest(csr);
    assertArrayEquals(publicKey, jca.getPublicKey().getEncoded());
    assertTrue(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(jca.getPublicKey())));
  }

  @Test
  void wrongPinIsRefusedWithoutShowingIt() throws Exception {
    Path wrong = dir.resolve("wrong-pin");
    Files.writeString(wrong, "not-the-pin-9999\n");
    Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));
    Run r = csr("pkcs11:object=alice-key?module-path=" + MODULE + "&pin-source=file:" + wrong);
    assertNotEquals(0, r.exit);
    assertTrue(r.err.contains("cannot log in to the PKCS#11 token"), r.err);
    assertFalse(r.err.contains("not-the-pin-9999"));
  }

  @Test
  void unknownLabelIsRefused() throws Exception {
    Run r = csr("pkcs11:object=bob-key?module-path=" + MODULE + "&pin-source=file:" + pinFile);
    assertNotEquals(0, r.exit);
    assertTrue(r.err.contains("no private key labelled bob-key"), r.err);
  }

  @Test
  void uriProblemsAreNamed() {
    CliException pinValue = assertThrows(CliException.class,
        () -> Pkcs11Key.open("pkcs11:object=k?module-path=" + MODULE + "&pin-value=1234"));
    assertTrue(pinValue.getMessage().contains("pin-value is refused"), pinValue.getMessage());
    assertFalse(pinValue.getMessage().contains("1234"));
    CliException noObject = assertThrows(CliException.class,
        () -> Pkcs11Key.open("pkcs11:token=t?module-path=" + MODULE + "&pin-source=file:" + pinFile));
    assertTrue(noObject.getMessage().contains("names no object"), noObject.getMessage());
    CliException noModule = assertThrows(CliException.class,
        () -> Pkcs11Key.open("pkcs11:object=k?pin-source=file:" + pinFile));
    assertTrue(noModule.getMessage().contains("module-path"), noModule.getMessage());
    assertThrows(CliException.class, () -> Pkcs11Key.open("file:/tmp/key.pem"));
    assertThrows(CliException.class, () -> Pkcs11Key.open("pkcs11:object=k;type=cert?module-path=" + MODULE
        + "&pin-source=file:" + pinFile));
  }

  @Test
  void pinFileReadableByOthersIsRefused() throws Exception {
    Path open = dir.resolve("open-pin");
    Files.writeString(open, "1234\n");
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
    CliException e = assertThrows(CliException.class,
        () -> Pkcs11Key.open("pkcs11:object=k?module-path=" + MODULE + "&pin-source=file:" + open));
    assertTrue(e.getMessage().contains("readable by others"), e.getMessage());
  }

  /** Child JVM entry point: prints the CSR of the key the URI names, or the refusal on stderr (exit 1). */
  public static void main(String[] args) {
    try {
      System.out.print(Pkcs11Key.open(args[0]).csrPem());
    } catch (CliException e) {
      System.err.println("kubejit: " + e.getMessage());
      System.exit(1);
    }
  }

  private static Run csr(String uri) throws Exception {
    return run(java(), "-cp", System.getProperty("java.class.path"), Pkcs11KeyTest.class.getName(), uri);
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  record Run(int exit, String out, String err) {}

  private static Run run(String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(List.of(command));
    pb.environment().put("SOFTHSM2_CONF", conf.toString());
    Path err = Files.createTempFile(dir, "err", ".txt");
    pb.redirectError(err.toFile());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    return new Run(p.exitValue(), out, Files.readString(err));
  }
}
