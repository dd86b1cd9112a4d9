package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every public type in every module's main sources carries a Javadoc comment. */
class PublicJavadocTest {
  private static final Pattern PUBLIC_TYPE = Pattern.compile(
      "^(\\s*)public\\s+(?:(?:final|abstract|static|sealed|non-sealed)\\s+)*(class|interface|enum|record|@interface)\\s+(\\w+)",
      Pattern.MULTILINE);

  @Test
  void everyPublicTypeHasJavadoc() throws IOException {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", "..")).toAbsolutePath().normalize();
    List<String> missing = new ArrayList<>();
    int checked = 0;
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : (Iterable<Path>) files
          .filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/"))
          .filter(p -> !p.toString().contains("/target/"))::iterator) {
        String src = Files.readString(file);
        Matcher m = PUBLIC_TYPE.matcher(src);
        while (m.find()) {
          checked++;
          String before = src.substring(0, m.start()).stripTrailing();
          // Skip annotations between the Javadoc and the declaration.
          while (before.endsWith(")") || before.matches("(?s).*@\\w+(\\.\\w+)*$")) {
            int at = before.lastIndexOf('@');
            if (at < 0) {
              break;
            }
            before = before.substring(0, at).stripTrailing();
          }
          if (!before.endsWith("*/")) {
            missing.add(root.relativize(file) + ": " + m.group(3));
          }
        }
      }
    }
    assertTrue(checked > 20, "found only " + checked + " public types; is kubejit.projectRoot right?");
    assertTrue(missing.isEmpty(), "public types without Javadoc:\n" + String.join("\n", missing));
  }
}
