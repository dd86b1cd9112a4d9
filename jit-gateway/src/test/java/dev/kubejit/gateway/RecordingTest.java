package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordingTest {
  @TempDir Path dir;

  @Test
  void writesAsciicastV2WhoseEventsReplayTheBytesAndWhoseHashIsTheFiles() throws Exception {
    Path f = dir.resolve("g/s-1.cast");
    Recording r = Recording.create(f, Instant.parse("2026-12-02T08:00:00Z"), "alice@kubejit exec web -- cat x");
    byte[] text = "héllo \"quoted\"\n\u001b[31mred\u001b[0m\tend ✓\n".getBytes(UTF_8);
    // Split inside multi-byte characters: the recording must not mangle them.
    for (int i = 0; i < text.length; i += 2) {
      r.output(text, i, Math.min(2, text.length - i));
    }
    r.close();
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))), r.sha256());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    ObjectMapper json = new ObjectMapper();
    List<String> lines = Files.readAllLines(f, UTF_8);
    JsonNode header = json.readTree(lines.get(0));
    assertEquals(2, header.get("version").asInt());
    assertEquals(Instant.parse("2026-12-02T08:00:00Z").getEpochSecond(), header.get("timestamp").asLong());
    StringBuilder replay = new StringBuilder();
    double last = 0;
    for (String l : lines.subList(1, lines.size())) {
      JsonNode ev = json.readTree(l);
      assertEquals("o", ev.get(1).asText());
      double t = ev.get(0).asDouble();
      assertEquals(true, t >= last);
      last = t;
      replay.append(ev.get(2).asText());
    }
    assertEquals(new String(text, UTF_8), replay.toString());
  }

  @Test
  void refusesToOverwriteAnExistingRecording() throws Exception {
    Path f = dir.resolve("s.cast");
    Recording.create(f, Instant.EPOCH, "t").close();
    assertThrows(java.io.UncheckedIOException.class, () -> Recording.create(f, Instant.EPOCH, "t"));
  }
}
