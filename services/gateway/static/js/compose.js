// The composer without JavaScript is complete; this module only improves it (coming next).
