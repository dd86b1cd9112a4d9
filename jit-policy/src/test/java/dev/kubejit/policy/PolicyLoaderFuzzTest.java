package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Property: loading arbitrary bytes in any format either yields a policy or throws {@link
 * PolicyException} — never a NullPointerException, ClassCastException, StackOverflowError or any
 * other exception.
 *
 * <p>Two drivers: a Jazzer {@code @FuzzTest} (in a plain {@code mvn test} it replays its seed
 * corpus under {@code PolicyLoaderFuzzTestInputs/}; run with {@code JAZZER_FUZZ=1} to fuzz), and a
 * deterministic seeded mutation test that loads thousands of mutated variants of the example in
 * all three formats on every build.
 */
class PolicyLoaderFuzzTest {
  private static final PolicyFormat[] FORMATS = PolicyFormat.values();

  static void loadOrPolicyException(byte[] data, PolicyFormat format) {
    try {
      Policy p = PolicyLoader.parse(data, format, "fuzz", null);
      // A policy that loads must also evaluate without throwing.
      PolicyEngine.of(p);
    } catch (PolicyException expected) {
      // the only acceptable failure
    }
  }

  @FuzzTest(maxDuration = "30s")
  void loaderThrowsOnlyPolicyException(byte[] input) {
    if (input.length == 0) {
      return;
    }
    loadOrPolicyException(Arrays.copyOfRange(input, 1, input.length), FORMATS[(input[0] & 0xff) % FORMATS.length]);
  }

  @Test
  void seededMutationsOfTheExampleInAllFormats() {
    SplittableRandom random = new SplittableRandom(20260301L);
    int loaded = 0;
    int refused = 0;
    int iterations = 3000;
    for (PolicyFormat f : FORMATS) {
      byte[] seed = Fixtures.resource("policies/" + Fixtures.exampleName(f));
      for (int i = 0; i < iterations; i++) {
        byte[] mutated = mutate(seed, random);
        try {
          PolicyEngine.of(PolicyLoader.parse(mutated, f, "mutant", null));
          loaded++;
        } catch (PolicyException e) {
          refused++;
          assertTrue(e.getMessage().startsWith("mutant"), e.getMessage());
        } catch (Throwable t) {
          fail(f + " mutant " + i + " threw " + t + " for input:\n" + new String(mutated, StandardCharsets.UTF_8), t);
        }
      }
    }
    assertEquals(3 * iterations, loaded + refused);
    assertTrue(refused > iterations, "mutations should mostly break the policy: " + refused);
    assertTrue(loaded > 0, "some mutations (e.g. in whitespace or comments) should still load");
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
