import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Key prefix of the video copies in the bucket; IAM grants are scoped to it. */
export const VIDEO_PREFIX = 'videos/';

/** The table's one global secondary index: a tenant's generations, newest first. */
const OWNER_INDEX = { name: 'by-owner', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' } as const;

/** Attribute DynamoDB's TTL deletes items by (idempotency keys, expired records). */
const TTL_ATTRIBUTE = 'expires_at';

/**
 * Where reelhook keeps its state: the single DynamoDB table, the bucket the videos are
 * copied into, and the Secrets Manager secret holding the AI/ML API key. Table and
 * bucket are retained when the stack is deleted: they hold the users' data.
 *
 * @example
 * const storage = new ReelhookStorage(this, 'Storage');
 * storage.table.grantReadData(reportingFunction);
 */
export class ReelhookStorage extends Construct {
  public readonly table: Table;
  public readonly bucket: Bucket;
  /** Put the AI/ML API key here after the first deploy; it starts as a random placeholder. */
  public readonly providerSecret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: OWNER_INDEX.name,
      partitionKey: { name: OWNER_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: OWNER_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    this.bucket = new Bucket(this, 'Videos', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      // A copy that dies mid-upload leaves parts that are billed until aborted.
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.providerSecret = new Secret(this, 'ProviderSecret', {
      description: 'AI/ML API key used by reelhook (replace the generated placeholder with your key)',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
  }
}
