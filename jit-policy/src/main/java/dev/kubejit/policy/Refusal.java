package dev.kubejit.policy;

/** A command refused before or during rule matching; carries the deciding rule id and a reason code. No stack trace. */
final class Refusal extends Exception {
  private static final long serialVersionUID = 1L;
  private final String ruleId;
  private final ReasonCode code;

  Refusal(String ruleId, ReasonCode code, String reason) {
    super(reason, null, false, false);
    this.ruleId = ruleId;
    this.code = code;
  }

  String ruleId() {
    return ruleId;
  }

  ReasonCode code() {
    return code;
  }
}
