package example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Decision;
import dev.kubejit.audit.VerificationResult;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs docs/embedding.md in a project that imports only jit-bom. */
class EmbeddingTest {
  @TempDir Path dir;

  @Test
  void theDocumentedPathRunsEndToEnd() throws Exception {
    try (InputStream in = EmbeddingTest.class.getResourceAsStream("/policy.yaml")) {
      Files.copy(in, dir.resolve("policy.yaml"));
    }
    Embedding.Outcome o = Embedding.run(dir);
    assertEquals(Decision.Outcome.ALLOW, o.allowed.outcome(), o.allowed.toString());
    assertEquals(Decision.Outcome.DENY, o.denied.outcome(), o.denied.toString());
    assertTrue(o.certificatePem.startsWith("-----BEGIN CERTIFICATE-----"), o.certificatePem);
    assertEquals(VerificationResult.Status.SEALED, o.audit.status(), o.audit.toString());
    assertTrue(o.audit.signaturesChecked(), o.audit.toString());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("alice.key"))));
  }

  @Test
  void docsShowThePathVerbatim() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot"));
    String source = Files.readString(Path.of("src/main/java/example/Embedding.java"));
    String marker = "// --8<-- [embedding]\n";
    int from = source.indexOf(marker) + marker.length();
    int to = source.indexOf(marker, from);
    String body = source.substring(from, source.lastIndexOf('\n', to) + 1);
    String snippet = body.lines().map(l -> l.startsWith("    ") ? l.substring(4) : l)
        .collect(Collectors.joining("\n", "", "\n"));
    String doc = Files.readString(root.resolve("docs/embedding.md"));
    assertTrue(doc.contains(snippet), "docs/embedding.md must contain the embedding path verbatim:\n" + snippet);
    String policy = Files.readString(Path.of("src/main/resources/policy.yaml"));
    assertTrue(doc.contains(policy), "docs/embedding.md must contain policy.yaml verbatim");
  }
}
