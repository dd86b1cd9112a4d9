/**
 * ChatOps for the KubeJIT broker: Slack slash commands and approve/deny buttons ({@link
 * dev.kubejit.chatops.SlackChatOps}), Slack Block Kit notifications ({@link
 * dev.kubejit.chatops.SlackNotifier}), signed webhooks ({@link dev.kubejit.chatops.WebhookNotifier})
 * and the bounded, retrying queue both deliver through ({@link dev.kubejit.chatops.DeliveryQueue}).
 * See {@code docs/chatops.md}.
 */
package dev.kubejit.chatops;
