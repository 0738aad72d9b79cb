import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AttributeType, BillingMode, type CfnTable, type ITable, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TableLayout } from '#shared/records/table-layout.js';
import { ROLE_METADATA_KEY, VIDEO_PREFIX } from '#shared/facts.js';

/** Key prefix of the video copies in the bucket; IAM grants are scoped to it. */
export { VIDEO_PREFIX };

/** How long the S3 server access logs of the videos bucket are kept. */
const ACCESS_LOG_RETENTION = Duration.days(365);
const ACCESS_LOG_PREFIX = 'videos-bucket/';

export interface ReelhookStorageProps {
  /**
   * An existing table to use instead of creating one. It must have the layout of
   * `TableLayout` (functions/shared/records/table-layout.ts): partition key `pk` (string), the
   * `by-owner` index (`gsi1pk`, `gsi1sk`, projecting all attributes) and, for record
   * retention and idempotency keys to expire, TTL on `expires_at`.
   * @default a new on-demand table, encrypted, with point-in-time recovery and TTL, retained on stack deletion
   */
  readonly table?: ITable;
  /**
   * An existing bucket for the video copies (reelhook writes under `videos/` only).
   * Its access logging, lifecycle rules and public access settings stay yours.
   * @default a new private, encrypted, TLS-only bucket with server access logs, retained on stack deletion
   */
  readonly bucket?: IBucket;
  /**
   * An existing secret whose whole value (a plain string) is the AI/ML API key.
   * @default a new secret holding a random placeholder: put your key in it after the first deploy
   */
  readonly providerSecret?: ISecret;
  /**
   * When set, videos under `videos/` in the bucket this construct creates expire after
   * this long (the records expire by TTL after the same time, see ReelhookOrchestrator).
   * @default videos are kept until deleted
   */
  readonly videoRetention?: Duration;
}

/**
 * Where reelhook keeps its state: the single DynamoDB table, the bucket the videos are
 * copied into (with a second bucket for its access logs), and the Secrets Manager
 * secret holding the AI/ML API key. Each can be brought instead of created. Created
 * table and buckets are retained when the stack is deleted: they hold the users' data.
 *
 * @example
 * const storage = new ReelhookStorage(this, 'Storage', { bucket: Bucket.fromBucketName(this, 'Media', 'my-media') });
 * storage.table.grantReadData(reportingFunction);
 */
export class ReelhookStorage extends Construct {
  public readonly table: ITable;
  public readonly bucket: IBucket;
  /** Holds the AI/ML API key; a created one starts as a random placeholder. */
  public readonly providerSecret: ISecret;
  /** Receives the videos bucket's server access logs; absent when the bucket was brought. */
  public readonly accessLogsBucket?: Bucket;

  constructor(scope: Construct, id: string, props: ReelhookStorageProps = {}) {
    super(scope, id);

    const videoRetentionDays = props.videoRetention?.toDays({ integral: false });
    if (videoRetentionDays !== undefined && (!Number.isInteger(videoRetentionDays) || videoRetentionDays < 1)) {
      throw new Error(`videoRetention must be a whole number of days, at least 1, got ${props.videoRetention?.toHumanString()}`);
    }

    this.table = props.table ?? this.createTable();

    if (props.bucket) {
      this.bucket = props.bucket;
    } else {
      this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        // S3 server access logging delivers only to SSE-S3 buckets.
        encryption: BucketEncryption.S3_MANAGED,
        objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycleRules: [{ expiration: ACCESS_LOG_RETENTION }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(this.accessLogsBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'This bucket is the destination of the videos bucket server access logs; logging it as well would ' +
          'need a third bucket (and so on). Only the S3 logging service writes to it.',
      });

      const videos = new Bucket(this, 'Videos', {
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        encryption: BucketEncryption.S3_MANAGED,
        objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycleRules: [
          // A copy that dies mid-upload leaves parts that are billed until aborted.
          { abortIncompleteMultipartUploadAfter: Duration.days(1) },
          ...(videoRetentionDays === undefined
            ? []
            : [{ prefix: VIDEO_PREFIX, expiration: Duration.days(videoRetentionDays) }]),
        ],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const cfnVideos = videos.node.defaultChild as CfnBucket;
      cfnVideos.addMetadata(ROLE_METADATA_KEY, 'videos');
      // Log delivery by bucket policy, whatever the app's feature flags: CDK's default for
      // `serverAccessLogsBucket` is an ACL, which needs ACLs enabled on the logs bucket.
      cfnVideos.loggingConfiguration = {
        destinationBucketName: this.accessLogsBucket.bucketName,
        logFilePrefix: ACCESS_LOG_PREFIX,
      };
      this.accessLogsBucket.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal('logging.s3.amazonaws.com')],
          actions: ['s3:PutObject'],
          resources: [this.accessLogsBucket.arnForObjects(`${ACCESS_LOG_PREFIX}*`)],
          conditions: {
            ArnLike: { 'aws:SourceArn': videos.bucketArn },
            StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          },
        }),
      );
      this.bucket = videos;
    }

    if (props.providerSecret) {
      this.providerSecret = props.providerSecret;
    } else {
      const secret = new Secret(this, 'ProviderSecret', {
        description: 'AI/ML API key used by reelhook (replace the generated placeholder with your key)',
        generateSecretString: { passwordLength: 32, excludePunctuation: true },
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The secret holds a key issued by a third party (the AI/ML API), which offers no API to mint a ' +
          'new key, so a rotation Lambda has nothing to call. The operator rotates it at the provider and ' +
          'writes the new value with put-secret-value; the functions pick it up within their 5-minute cache.',
      });
      this.providerSecret = secret;
    }
  }

  private createTable(): Table {
    const table = new Table(this, 'Table', {
      partitionKey: { name: TableLayout.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TableLayout.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const { ownerIndex } = TableLayout;
    table.addGlobalSecondaryIndex({
      indexName: ownerIndex.name,
      partitionKey: { name: ownerIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: ownerIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    (table.node.defaultChild as CfnTable).addMetadata(ROLE_METADATA_KEY, 'table');
    return table;
  }
}
