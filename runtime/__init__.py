"""The bottom of the application: settings, logging, the database pool, the Temporal
connection, plan files and shared formatting. Imports only domain and eventstore.
"""
