"""Sensor ticks the tests share: the stage e-mails, the failure e-mail, the model recovery, and the outbox."""

import email
from email import policy

import dagster as dg

from elevra_pipeline.definitions import defs
from elevra_pipeline.defs.email_sensors import upload_email_sensor, upload_failure_email_sensor
from elevra_pipeline.defs.recovery import model_recovery_sensor
from elevra_pipeline.defs.resources import DatabaseResource, EmailResource, GeminiBatchesResource
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline_tests.helpers import app_resource, local_outbox, materialize_upload, register, sensor_context


def tick(instance, db_url, mailer, cursor=None):
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources={"app": app_resource(), "database": DatabaseResource(url=db_url), "email": mailer},
    ) as context:
        return upload_email_sensor.evaluate_tick(context)


def failure_tick(instance, db_url, result):
    run = instance.get_run_by_id(result.run_id)
    context = dg.build_run_status_sensor_context(
        sensor_name="upload_failure_email_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=result.get_run_failure_event(),
        resources={
            "app": app_resource(),
            "database": DatabaseResource(url=db_url),
            "email": EmailResource(outbox_dir=local_outbox()),
        },
    ).for_run_failure()
    upload_failure_email_sensor(context)


def recovery_tick(instance, db_url, cursor=None, gemini_url=None):
    with sensor_context(instance, db_url, cursor, gemini_batches=GeminiBatchesResource(base_url=gemini_url)) as context:
        return model_recovery_sensor.evaluate_tick(context)


def read_outbox(outbox):
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(outbox.glob("*.eml"))]


def processed_upload(repo, instance, resources, path=SAMPLE_XLSX):
    upload = register(repo, path, instance, "ann@example.org")
    materialize_upload(upload, instance, resources)
    return repo.get_upload(upload.partition_key)
