"""What officers, leaders and admins do: join, the ticket card and its actions, the relay with citizens, duty lists."""
