package dev.kubejit.samples.chatops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.kubejit.chatops.SlackDirectory;
import dev.kubejit.server.ChatOpsConfig;
import dev.kubejit.server.ServerConfig;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The sample's files are what the README says: a valid kubejit.yaml, directory and Slack app manifest that agree. */
class SampleConfigTest {
  static final Path DIR = Path.of(System.getProperty("kubejit.projectRoot", "../..")).resolve("samples/chatops-bot");

  @Test
  void theConfigurationIsValidAndNamesTheDirectory() {
    ServerConfig c = ServerConfig.load(DIR.resolve("kubejit.yaml"));
    ChatOpsConfig.Slack slack = c.chatOps().orElseThrow().slack().orElseThrow();
    assertEquals("prod", slack.cluster().orElseThrow());
    assertEquals("C0123PAYMENTS", slack.roleChannels().get("oncall-debug"));
    assertEquals(URI.create("https://slack.com/api/"), slack.apiBaseUrl());
    assertEquals("https://hooks.slack.com/", slack.responseUrlPrefix());
    SlackDirectory d = SlackDirectory.fromFile(slack.directoryFile());
    assertEquals("alice", d.lookup("T0123ACME", "U0123ALICE").orElseThrow().user());
    assertTrue(d.lookup("T0123ACME", "U0123MALLORY").isEmpty());
  }

  @Test
  void theSlackAppPointsAtTheBrokersEndpointsWithTheTwoScopes() throws Exception {
    JsonNode m = new YAMLMapper().readTree(DIR.resolve("slack-app-manifest.yaml").toFile());
    JsonNode cmd = m.path("features").path("slash_commands").get(0);
    assertEquals("/jit", cmd.path("command").asText());
    assertTrue(cmd.path("url").asText().endsWith("/slack/commands"));
    assertTrue(m.path("settings").path("interactivity").path("request_url").asText().endsWith("/slack/interactions"));
    assertEquals("[\"commands\",\"chat:write\"]", m.path("oauth_config").path("scopes").path("bot").toString());
  }
}
