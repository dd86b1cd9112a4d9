package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.kubejit.api.Use;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Properties of loading arbitrary bytes in any format: (1) it yields a policy or throws {@link
 * PolicyException} naming the source, never a NullPointerException, ClassCastException,
 * StackOverflowError or any other exception; (2) a policy that loads round-trips: its canonical
 * JSON loads again to the same model and digest (so the canonical form is itself a valid policy and
 * the digest does not depend on the format or layout it came from); (3) a loaded policy can be
 * linted and evaluated.
 *
 * <p>Two drivers: a Jazzer {@code @FuzzTest} (in a plain {@code mvn test} it replays its seed
 * corpus under {@code PolicyLoaderFuzzTestInputs/}; run with {@code JAZZER_FUZZ=1} to fuzz), and a
 * deterministic seeded mutation test that loads thousands of mutated variants of the example in
 * all three formats on every build.
 */
class PolicyLoaderFuzzTest {
  private static final PolicyFormat[] FORMATS = PolicyFormat.values();

  /** Loads {@code data}; returns the policy, or null when refused with a PolicyException naming {@code source}. */
  static Policy loadOrRefuse(byte[] data, PolicyFormat format, String source) {
    Policy p;
    try {
      p = PolicyLoader.parse(data, format, source, null);
    } catch (PolicyException e) {
      assertTrue(e.getMessage().startsWith(source + ":"), "the error names the source: " + e.getMessage());
      return null;
    }
    Policy again = PolicyLoader.parse(p.canonicalJson().getBytes(StandardCharsets.UTF_8), PolicyFormat.JSON,
        "canonical", null);
    assertEquals(p.document(), again.document(), "the canonical form loads to the same model");
    assertEquals(p.digest(), again.digest(), "the canonical form has the same digest");
    assertEquals(p.canonicalJson(), again.canonicalJson());
    PolicyLinter.lint(p);
    PolicyEngine engine = PolicyEngine.of(p);
    for (String role : p.roleNames()) {
      assertNotNull(engine.checkCommand(role, Use.commandLine("cat /var/log/app.log")));
    }
    return p;
  }

  @FuzzTest(maxDuration = "30s")
  void loaderThrowsOnlyPolicyException(byte[] input) {
    if (input.length == 0) {
      return;
    }
    loadOrRefuse(Arrays.copyOfRange(input, 1, input.length), FORMATS[(input[0] & 0xff) % FORMATS.length], "fuzz");
  }

  @Test
  void seededMutationsOfTheExampleInAllFormats() {
    SplittableRandom random = new SplittableRandom(20260301L);
    int iterations = 3000;
    for (PolicyFormat f : FORMATS) {
      byte[] seed = Fixtures.resource("policies/" + Fixtures.exampleName(f));
      String seedDigest = Fixtures.example(f).digest();
      int loaded = 0;
      int refused = 0;
      int changed = 0;
      for (int i = 0; i < iterations; i++) {
        byte[] mutated = mutate(seed, random);
        Policy p;
        try {
          p = loadOrRefuse(mutated, f, "mutant");
        } catch (AssertionError e) {
          throw e;
        } catch (Throwable t) {
          throw new AssertionError(f + " mutant " + i + " threw " + t + " for input:\n"
              + new String(mutated, StandardCharsets.UTF_8), t);
        }
        if (p == null) {
          refused++;
        } else {
          loaded++;
          if (!p.digest().equals(seedDigest)) {
            changed++;
          }
        }
      }
      assertTrue(refused > iterations / 2, f + ": mutations should mostly break the policy: " + refused);
      assertTrue(loaded > 0, f + ": some mutations (e.g. in whitespace or comments) should still load");
      assertTrue(changed > 0, f + ": some loaded mutants should differ from the example: " + changed);
    }
  }

  private static final byte[][] TOKENS = {
      "{".getBytes(), "}".getBytes(), "[".getBytes(), "]".getBytes(), "\"".getBytes(), ":".getBytes(),
      ",".getBytes(), "null".getBytes(), "true".getBytes(), "1".getBytes(), "-1".getBytes(), "\"1\"".getBytes(),
      "<".getBytes(), ">".getBytes(), "</".getBytes(), "/>".getBytes(), "&amp;".getBytes(), "<!DOCTYPE x>".getBytes(),
      "&x;".getBytes(), "- ".getBytes(), "\n".getBytes(), "  ".getBytes(), "&a ".getBytes(), "*a".getBytes(),
      "!!str ".getBytes(), "---\n".getBytes(), "PT1H".getBytes(), "\u00e9".getBytes(StandardCharsets.UTF_8),
      {(byte) 0xff}, {0}};

  static byte[] mutate(byte[] seed, SplittableRandom random) {
    byte[] b = seed.clone();
    int edits = 1 + random.nextInt(4);
    for (int e = 0; e < edits; e++) {
      int pos = random.nextInt(b.length + 1);
      switch (random.nextInt(5)) {
        case 0: // flip a byte
          if (b.length > 0) {
            b[Math.min(pos, b.length - 1)] = (byte) random.nextInt(256);
          }
          break;
        case 1: // delete a range
          int len = Math.min(random.nextInt(16) + 1, b.length - Math.min(pos, b.length));
          b = concat(Arrays.copyOfRange(b, 0, pos), Arrays.copyOfRange(b, Math.min(pos + len, b.length), b.length));
          break;
        case 2: // insert a syntax token
          b = concat(concat(Arrays.copyOfRange(b, 0, pos), TOKENS[random.nextInt(TOKENS.length)]),
              Arrays.copyOfRange(b, pos, b.length));
          break;
        case 3: // duplicate a range (duplicate keys, items)
          if (b.length == 0) {
            break;
          }
          int start = random.nextInt(b.length);
          int end = Math.min(b.length, start + random.nextInt(80) + 1);
          b = concat(concat(Arrays.copyOfRange(b, 0, pos), Arrays.copyOfRange(b, start, end)),
              Arrays.copyOfRange(b, pos, b.length));
          break;
        default: // truncate
          b = Arrays.copyOfRange(b, 0, pos);
      }
    }
    return b;
  }

  private static byte[] concat(byte[] a, byte[] c) {
    byte[] r = Arrays.copyOf(a, a.length + c.length);
    System.arraycopy(c, 0, r, a.length, c.length);
    return r;
  }
}
