package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.Grant;
import dev.kubejit.gateway.SshGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway path with the engineer's key in a hardware token (SoftHSM2): the token key's public
 * key in OpenSSH form (checked against {@code ssh-keygen -D}, which reads it from the token), an SSH
 * user certificate for it, {@code kubejit ssh config} printing {@code PKCS11Provider} and the
 * certificate kept by activation, and the real OpenSSH client logging in to a real gateway with the
 * key that never leaves the token. Without the certificate the same key is refused. Commands in a
 * pod through {@code kubejit serve} are {@link Pkcs11ProxyKubeTest} (with the real node).
 */
class Pkcs11SshGatewayTest {
  @TempDir Path dir;

  @Test
  void sshWithTheKeyInTheTokenAndTheGrantsCertificate() throws Exception {
    SoftHsmToken token = SoftHsmToken.create(dir, "kubejit-ssh", "alice-ssh");
    assertTrue(token.keyDescription.contains("token object, sensitive, unextractable")
        && token.keyDescription.contains("encoded=none"), token.keyDescription);
    Map<String, String> askpass = token.askpassEnv(dir);

    // the public key line KubeJIT sends is the one OpenSSH reads out of the token
    String line = OpenSshKeys.publicKeyLine(token.publicKey(), "kubejit-pkcs11");
    String fromToken = token.run(List.of("ssh-keygen", "-D", SoftHsmToken.MODULE.toString()), askpass);
    assertTrue(line.startsWith("ecdsa-sha2-nistp256 "), line);
    assertTrue(fromToken.lines().anyMatch(l -> l.startsWith(line.substring(0, line.lastIndexOf(' ')))),
        "ssh-keygen -D lists " + fromToken + "; KubeJIT encoded " + line);

    SshGatewayFixture fx = SshGatewayFixture.create(dir);
    var activation = fx.activateAlice(line, "INC-18");
    Grant g = activation.grant();

    // what kubejit activate --key pkcs11:... --ssh keeps (the CLI path itself: Pkcs11ProxyKubeTest)
    ClientHome home = ClientHome.resolve(dir.resolve("alice"));
    GrantCredentials creds = new GrantCredentials(home, Clock.systemUTC());
    ObjectNode grantJson = BrokerClient.object("id", g.id().value(), "holder", "alice");
    ArrayNode credentials = BrokerClient.JSON.createArrayNode();
    credentials.add(BrokerClient.object("kind", "ssh", "certificate", activation.credentials().get(0).material()));
    Path cert = creds.storeSsh(grantJson, credentials,
        new GrantCredentials.SshIdentity(line, null, SoftHsmToken.MODULE.toString(), home.keysDir().resolve("pkcs11")));
    assertEquals(home.keysDir().resolve("pkcs11-" + g.id().value() + "-cert.pub"), cert);
    // a certificate for another key is not kept
    CliException other = org.junit.jupiter.api.Assertions.assertThrows(CliException.class, () -> creds.storeSsh(
        BrokerClient.object("id", dev.kubejit.api.GrantId.random().value(), "holder", "alice"), credentials,
        creds.kubejitSshKey()));
    assertTrue(other.getMessage().contains("not for the key that was sent"), other.getMessage());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cert)));

    try (SshGateway gateway = fx.startGateway()) {
      Path knownHosts = dir.resolve("known_hosts.kubejit");
      CredentialCommandTest.Result cfg = CredentialCommandTest.run(new SshCommand(), "config", "--grant", g.id().value(),
          "--gateway", "127.0.0.1:" + gateway.port(), "--ca-public-key", fx.caPublicKey().toString(),
          "--known-hosts", knownHosts.toString(), "--home", home.dir().toString());
      assertEquals(0, cfg.exit(), cfg::toString);
      String[] parts = cfg.out().split("\n\n", 2);
      assertTrue(parts[0].contains("\n  PKCS11Provider " + SoftHsmToken.MODULE + "\n"), cfg.out());
      assertTrue(parts[0].contains("\n  CertificateFile " + cert + "\n"), cfg.out());
      assertTrue(parts[0].contains("\n  User alice\n"), cfg.out());
      Path pub = home.keysDir().resolve("pkcs11-" + g.id().value() + ".pub");
      assertTrue(parts[0].contains("\n  IdentityFile " + pub + "\n"), "the token key's public half only\n" + cfg.out());
      assertEquals(line, Files.readString(pub).strip());
      Files.writeString(dir.resolve("ssh_config"), parts[0] + "\n");
      Files.writeString(knownHosts, parts[1].lines().filter(l -> l.startsWith("@cert-authority ")).findFirst().orElseThrow()
          + "\n");

      String[] ok = token.exec(List.of("ssh", "-F", dir.resolve("ssh_config").toString(), "-o", "IdentityAgent=none",
          "-o", "GlobalKnownHostsFile=/dev/null", "kubejit-" + g.id().value(), "help"), askpass);
      assertEquals("0", ok[0], ok[1] + ok[2]);
      assertTrue(ok[1].contains("exec POD"), ok[1]);

      // the same token key without the certificate: refused (the gateway takes only CA-signed certificates)
      List<String> plain = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(gateway.port()),
          "-o", "PKCS11Provider=" + SoftHsmToken.MODULE, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
          "-o", "HostKeyAlias=127.0.0.1", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
          "-o", "StrictHostKeyChecking=yes", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
          "alice@127.0.0.1", "help"));
      String[] refused = token.exec(plain, askpass);
      assertNotEquals("0", refused[0], refused[1] + refused[2]);
      assertTrue(refused[2].contains("Permission denied"), refused[2]);
    }
  }

  @Test
  void theKubejitSshKeyIsAnEd25519KeyOpenSshReads() throws Exception {
    ClientHome home = ClientHome.resolve(dir.resolve("bob"));
    GrantCredentials creds = new GrantCredentials(home, Clock.systemUTC());
    GrantCredentials.SshIdentity first = creds.kubejitSshKey();
    Path key = creds.sshKeyFile();
    assertEquals(key, first.identityFile());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    assertTrue(first.publicKeyLine().startsWith("ssh-ed25519 "), first.publicKeyLine());
    String derived = CredentialCommandTest.exec(dir, "ssh-keygen", "-y", "-f", key.toString()).strip();
    assertEquals(derived.split(" ")[1], first.publicKeyLine().split(" ")[1], "ssh-keygen derives the same public key");
    assertEquals(first.publicKeyLine(), creds.kubejitSshKey().publicKeyLine(), "created once, then reused");
    String grantId = dev.kubejit.api.GrantId.random().value();
    assertEquals(home.keysDir().resolve("ssh_ed25519-" + grantId + "-cert.pub"), first.certificateFile(grantId),
        "the certificate goes next to the key");

    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    CliException open = org.junit.jupiter.api.Assertions.assertThrows(CliException.class, creds::kubejitSshKey);
    assertTrue(open.getMessage().contains("readable by others"), open.getMessage());
  }
}
