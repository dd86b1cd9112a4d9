package dev.kubejit.samples.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EmbeddedBrokerTest {
  @Test
  void exampleRunsAndAllowsTheCommand() {
    assertTrue(EmbeddedBroker.run().isAllowed());
  }

  @Test
  void readmeShowsExactlyThisExample() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", "../.."));
    String source = Files.readString(root.resolve(
        "samples/embedded-broker/src/main/java/dev/kubejit/samples/embedded/EmbeddedBroker.java"));
    String marker = "// --8<-- [readme]\n";
    int from = source.indexOf(marker) + marker.length();
    String snippet = source.substring(from, source.indexOf("    " + marker, from)).stripTrailing().stripIndent().strip();
    String readme = Files.readString(root.resolve("README.md"));
    assertTrue(readme.contains(snippet), "README.md must contain the embedding example verbatim:\n" + snippet);
    assertEquals(true, snippet.lines().count() <= 22, "keep the example short");
  }
}
