package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chain hash is SHA-256 of the stored line without its newline, as docs/audit.md says, so sha256sum can check it. */
class ChainHashTest {
  @TempDir Path dir;

  @Test
  void knownVectorAndGenesis() {
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ChainHash.of("abc".getBytes(UTF_8)));
    assertEquals(64, ChainHash.GENESIS.length());
    assertEquals("", ChainHash.GENESIS.replace("0", ""));
  }

  @Test
  void agreesWithSha256sumOnAWrittenLog() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(base).withoutSignatures().open()) {
      s.append(Events.batch(0, 2));
    }
    List<String> lines = LogFiles.lines(base);
    Path first = dir.resolve("first.line");
    Files.writeString(first, lines.get(0)); // no trailing newline: the hash covers the line only
    Process p = new ProcessBuilder("sha256sum", first.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    assertEquals(0, p.waitFor(), out);
    String expected = out.substring(0, 64);
    assertEquals(expected, ChainHash.of(lines.get(0).getBytes(UTF_8)));
    assertEquals(expected, ChainHash.logId(lines.get(0).getBytes(UTF_8)));
    org.junit.jupiter.api.Assertions.assertTrue(lines.get(1).contains("\"prevHash\":\"" + expected + "\""), lines.get(1));
  }
}
