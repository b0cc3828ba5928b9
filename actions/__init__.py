"""Custom actions of the assistant (rasa_sdk): read the conversation, ask the knowledge base, answer."""
