"""The email channel: MIME parsing, IMAP receiving, SMTP sending."""
