-- Run once by the postgres image when its data volume is empty (/docker-entrypoint-initdb.d), as POSTGRES_USER
-- (sherlock), after it created POSTGRES_DB (sherlock, the store of record): MLflow's runs get a database of their
-- own on the same server, owned by the same user. An existing volume is not touched: create it by hand there with
--   docker compose exec postgres createdb -U sherlock mlflow
CREATE DATABASE mlflow;
