package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Use;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs the committed command corpora ({@code corpus/bypass-attempts.json}, {@code
 * corpus/legitimate-commands.json}) against a policy in each format, as an exec grant of role
 * {@code oncall-debug}: every bypass attempt is denied by the rule and with the reason code the
 * entry names (so a denial for the wrong reason fails), every legitimate command is allowed by the
 * rule it names. An entry's {@code policy} is {@code example} (default, the example policy) or
 * {@code getopt} ({@code corpus/getopt-policy.*}: option kinds, pattern operands, no operand).
 */
class CommandCorpusTest {
  private static final Map<PolicyFormat, PolicyEngine> ENGINES = new EnumMap<>(PolicyFormat.class);
  private static final Map<PolicyFormat, PolicyEngine> GETOPT = new EnumMap<>(PolicyFormat.class);

  static {
    for (PolicyFormat f : PolicyFormat.values()) {
      ENGINES.put(f, PolicyEngine.of(Fixtures.example(f)));
      String name = "getopt-policy." + f.name().toLowerCase(java.util.Locale.ROOT);
      GETOPT.put(f, PolicyEngine.of(PolicyLoader.parse(Fixtures.resource("corpus/" + name), f, name, null)));
    }
  }

  private static PolicyEngine engine(PolicyFormat f, JsonNode entry) {
    String policy = entry.has("policy") ? entry.get("policy").asText() : "example";
    switch (policy) {
      case "example":
        return ENGINES.get(f);
      case "getopt":
        return GETOPT.get(f);
      default:
        throw new IllegalArgumentException("unknown corpus policy " + policy);
    }
  }

  private static List<JsonNode> corpus(String name) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    new ObjectMapper().readTree(Fixtures.resource("corpus/" + name)).forEach(out::add);
    return out;
  }

  private static Use use(JsonNode entry) {
    if (entry.has("argv")) {
      List<String> argv = new ArrayList<>();
      entry.get("argv").forEach(a -> argv.add(a.asText()));
      return Use.command(argv);
    }
    return Use.commandLine(entry.get("line").asText());
  }

  private static Stream<Arguments> cases(String name) throws IOException {
    List<Arguments> args = new ArrayList<>();
    for (JsonNode e : corpus(name)) {
      for (PolicyFormat f : PolicyFormat.values()) {
        args.add(Arguments.of(f, Text.quote(use(e).describe()), e));
      }
    }
    return args.stream();
  }

  static Stream<Arguments> bypasses() throws IOException {
    return cases("bypass-attempts.json");
  }

  static Stream<Arguments> legitimate() throws IOException {
    return cases("legitimate-commands.json");
  }

  @ParameterizedTest(name = "[{0}] denies {1}")
  @MethodSource("bypasses")
  void bypassAttemptIsDenied(PolicyFormat f, String shown, JsonNode entry) {
    PolicyEngine engine = engine(f, entry);
    Decision d = engine.authorize(Fixtures.execGrant("oncall-debug"), use(entry));
    assertEquals(Decision.Outcome.DENY, d.outcome(), entry.get("category").asText() + " " + shown + " -> " + d);
    assertEquals(Optional.of(entry.get("rule").asText()), d.ruleId(), shown + " -> " + d);
    String code = entry.get("code").asText();
    assertTrue(d.reason().startsWith("[" + code + "] "), shown + ": expected reason code " + code + " -> " + d);
    assertTrue(d.reason().length() > code.length() + 3, "a reason after the code: " + d);
    assertEquals(Optional.of(engine.policy().digest()), d.policyDigest());
  }

  @ParameterizedTest(name = "[{0}] allows {1}")
  @MethodSource("legitimate")
  void legitimateCommandIsAllowed(PolicyFormat f, String shown, JsonNode entry) {
    Decision d = engine(f, entry).authorize(Fixtures.execGrant("oncall-debug"), use(entry));
    assertEquals(Decision.Outcome.ALLOW, d.outcome(), shown + " -> " + d);
    assertEquals(Optional.of(entry.get("rule").asText()), d.ruleId(), shown);
  }

  @Test
  void corporaAreLargeEnoughAndCoverEveryCategory() throws IOException {
    List<JsonNode> bypass = corpus("bypass-attempts.json");
    assertTrue(bypass.size() >= 300, "at least 300 bypass attempts, found " + bypass.size());
    assertTrue(corpus("legitimate-commands.json").size() >= 80);
    for (String category : List.of("shell syntax", "wrapper or shell", "interpreter, editor or pager", "path trick",
        "encoding or look-alike", "command path trick", "flag trick", "argv", "option kind", "option abbreviation",
        "pattern operand", "whitespace in a word", "no operand")) {
      assertTrue(bypass.stream().anyMatch(e -> e.get("category").asText().equals(category)), category);
    }
    for (JsonNode e : bypass) {
      assertTrue(e.hasNonNull("rule") && e.hasNonNull("code") && ReasonCode.of("[" + e.get("code").asText() + "]") != null,
          "every bypass entry names its rule and a known reason code: " + e);
    }
  }

  @Test
  void theGetoptCorpusPolicyIsTheSameInEveryFormat() {
    String digest = GETOPT.get(PolicyFormat.YAML).policy().digest();
    for (PolicyFormat f : PolicyFormat.values()) {
      assertEquals(digest, GETOPT.get(f).policy().digest(), f.toString());
    }
  }
}
