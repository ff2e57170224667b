"""Triggers run by Airflow's triggerer while a task is deferred."""
