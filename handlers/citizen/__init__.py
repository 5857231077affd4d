"""What a citizen does outside the interview steps: menu, consent, language, own tickets, the satisfaction callback."""
