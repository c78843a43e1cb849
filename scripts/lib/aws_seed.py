#!/usr/bin/env python3
"""Seeds the local AWS stand-in (moto's server) with synthetic PHI: Faker-made
patients, never real ones. An S3 bucket of patient exports (CSV and JSON) and a
clinical note, a DynamoDB table of patients, a Lambda function, a CloudWatch Logs
group of clinical notes, a Secrets Manager secret and a few EC2 instances.

Writes the names it made (never the values) to --out for the tests; the values are
reproducible from the seed."""
import argparse, csv, io, json, zipfile
from pathlib import Path

import boto3
from faker import Faker

BUCKET, TABLE, FUNCTION, LOG_GROUP, SECRET = "clinic-exports", "Patients", "patient-lookup", "/clinic/notes", "clinic/db-admin"


def patients(n=25, seed=1860):
    fake = Faker("en_US")
    fake.seed_instance(seed)
    out = []
    for i in range(n):
        out.append({"mrn": f"MRN{700000 + i * 37:07d}", "first_name": fake.first_name(), "last_name": fake.last_name(),
                    "date_of_birth": fake.date_of_birth(minimum_age=1, maximum_age=95).isoformat(), "ssn": fake.ssn(),
                    "phone": fake.phone_number(), "email": fake.email(), "street": fake.street_address(),
                    "city": fake.city(), "zip": fake.zipcode(), "diagnosis": fake.random_element(
                        ["hypertension", "type 2 diabetes", "asthma", "migraine", "fractured radius"])})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--key-id-file", required=True)
    ap.add_argument("--secret-file", required=True)
    args = ap.parse_args()
    kw = dict(endpoint_url=args.endpoint, region_name="us-east-1",
              aws_access_key_id=Path(args.key_id_file).read_text().strip(),
              aws_secret_access_key=Path(args.secret_file).read_text().strip())
    people = patients()

    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket=BUCKET)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(people[0]))
    w.writeheader()
    w.writerows(people)
    s3.put_object(Bucket=BUCKET, Key="exports/patients.csv", Body=buf.getvalue().encode(), ContentType="text/csv")
    s3.put_object(Bucket=BUCKET, Key="exports/patients.json", Body=json.dumps(people, indent=1).encode(),
                  ContentType="application/json")
    p = people[0]
    note = (f"Visit note for {p['first_name']} {p['last_name']} (MRN {p['mrn']}, DOB {p['date_of_birth']}): "
            f"follow-up for {p['diagnosis']}. Call back at {p['phone']}.\n")
    s3.put_object(Bucket=BUCKET, Key="notes/visit 0001.txt", Body=note.encode(), ContentType="text/plain")

    ddb = boto3.client("dynamodb", **kw)
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "mrn", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "mrn", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    for person in people:
        ddb.put_item(TableName=TABLE, Item={k: {"S": v} for k, v in person.items()})

    iam = boto3.client("iam", **kw)
    role = iam.create_role(RoleName="patient-lookup-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return {'mrn': event.get('mrn'), 'found': True}\n")
    boto3.client("lambda", **kw).create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role,
                                                 Handler="handler.handler", Code={"ZipFile": code.getvalue()})

    logs = boto3.client("logs", **kw)
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="ward-3")
    import time
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName="ward-3", logEvents=[
        {"timestamp": now - 1000 * (len(people) - i),
         "message": f"patient {x['first_name']} {x['last_name']} MRN {x['mrn']} seen for {x['diagnosis']}, phone {x['phone']}"}
        for i, x in enumerate(people[:10])])

    boto3.client("secretsmanager", **kw).create_secret(Name=SECRET, SecretString=json.dumps(
        {"username": "clinic_admin", "password": Faker().password(length=20)}))

    ec2 = boto3.client("ec2", **kw)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instances = ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3, InstanceType="t3.micro",
                                  TagSpecifications=[{"ResourceType": "instance",
                                                      "Tags": [{"Key": "Name", "Value": "clinic-worker"}]}])
    Path(args.out).write_text(json.dumps({
        "bucket": BUCKET, "objects": ["exports/patients.csv", "exports/patients.json", "notes/visit 0001.txt"],
        "table": TABLE, "function": FUNCTION, "log_group": LOG_GROUP, "secret": SECRET,
        "instances": [i["InstanceId"] for i in instances["Instances"]], "patients": len(people), "faker_seed": 1860}, indent=1))


if __name__ == "__main__":
    main()
