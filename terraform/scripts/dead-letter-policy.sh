# Sourced by terraform_data.dead_letter_policy (scheduled_function, scheduled_run_job):
# the Eventarc trigger's Pub/Sub subscription gets the manifest's retry backoff, delivery
# attempts (5 at least: Pub/Sub's minimum) and dead-letter topic, and Pub/Sub's service
# agent may forward to it. Environment: TRIGGER REGION PROJECT DEAD_LETTER ATTEMPTS
# MIN_BACKOFF MAX_BACKOFF.
set -euo pipefail
sub=$(gcloud eventarc triggers describe "$TRIGGER" --location "$REGION" --project "$PROJECT" --format 'value(transport.pubsub.subscription)')
gcloud pubsub subscriptions update "$sub" --project "$PROJECT" \
  --dead-letter-topic "$DEAD_LETTER" --max-delivery-attempts "$ATTEMPTS" \
  --min-retry-delay "$MIN_BACKOFF" --max-retry-delay "$MAX_BACKOFF"
gcloud pubsub subscriptions add-iam-policy-binding "$sub" --project "$PROJECT" \
  --member "serviceAccount:service-$(gcloud projects describe "$PROJECT" --format 'value(projectNumber)')@gcp-sa-pubsub.iam.gserviceaccount.com" \
  --role roles/pubsub.subscriber >/dev/null
