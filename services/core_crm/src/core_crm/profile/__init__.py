"""The customer as a whole: stats, lifetime value, segmentation, merge, GDPR export and erasure."""
