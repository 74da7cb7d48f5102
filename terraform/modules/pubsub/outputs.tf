output "topic_ids" {
  description = "Topic name -> topic id."
  value       = { for name, topic in google_pubsub_topic.topic : name => topic.id }
}

output "dead_letter_topic_ids" {
  description = "Topic name -> its dead-letter topic id."
  value       = { for name, topic in google_pubsub_topic.dead_letter : name => topic.id }
}
