"""Recurring jobs: a cron expression (Europe/Madrid by default) that queues a job when due."""
