// Alarms for what an operator must hear about, sent to one SNS topic (subscribe email, chat or paging
// to it): load balancer and target 5XX, unhealthy tasks, service CPU and memory, tools-database CPU
// and free storage.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { PortholeService } from './service.js';
import type { PortholeSettings } from './settings.js';
import type { ToolsDatabase } from './tools-database.js';

export interface PortholeAlarmsProps {
  settings: PortholeSettings;
  key: kms.IKey;
  service: PortholeService;
  toolsDatabase: ToolsDatabase;
}

const FIVE_MINUTES = Duration.minutes(5);
const GIB = 1024 ** 3;

export class PortholeAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PortholeAlarmsProps) {
    super(scope, id);
    const { settings, service, toolsDatabase } = props;
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'Porthole alarms', masterKey: props.key, enforceSSL: true });
    if (settings.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));

    const alarm = (name: string, metric: cloudwatch.IMetric, options: Omit<cloudwatch.AlarmProps, 'metric'>) => {
      const created = new cloudwatch.Alarm(this, name, { ...options, metric, actionsEnabled: true });
      created.addAlarmAction(new actions.SnsAction(this.topic));
      created.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(created);
    };
    const sum = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
    const average = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.AVERAGE };
    const breaching = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;

    alarm('LoadBalancer5xx', service.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, sum), {
      alarmDescription: 'The load balancer answered 5XX itself (no healthy task, or tasks failing to answer).',
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: breaching,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('Target5xx', service.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, sum), {
      alarmDescription: 'Porthole answered 5XX (see the service logs).',
      threshold: 10,
      evaluationPeriods: 1,
      comparisonOperator: breaching,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm(
      'UnhealthyTasks',
      service.targetGroup.metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      {
        alarmDescription: 'A task fails the load balancer health check (/healthz).',
        threshold: 1,
        evaluationPeriods: 5,
        comparisonOperator: breaching,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    alarm('ServiceCpu', service.service.metricCpuUtilization(average), {
      alarmDescription: 'Service CPU stays high although autoscaling should have added tasks (maxCount reached?).',
      threshold: 85,
      evaluationPeriods: 3,
      comparisonOperator: breaching,
    });
    alarm('ServiceMemory', service.service.metricMemoryUtilization(average), {
      alarmDescription: 'Service memory stays high: large result sets or a leak.',
      threshold: 85,
      evaluationPeriods: 3,
      comparisonOperator: breaching,
    });
    // The scheduled full verification logs "audit chain broken" (server/audit/integrity-jobs.ts).
    const chainBroken = new logs.MetricFilter(this, 'AuditChainBrokenFilter', {
      logGroup: service.logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.msg', '=', 'audit chain broken'),
      metricNamespace: 'Porthole',
      metricName: 'AuditChainBroken',
      metricValue: '1',
    });
    alarm('AuditChainBroken', chainBroken.metric(sum), {
      alarmDescription: 'The daily verification found the audit log changed or truncated (system.audit_broken names the event).',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: breaching,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('ToolsDatabaseCpu', toolsDatabase.instance.metricCPUUtilization(average), {
      alarmDescription: 'The tools database CPU stays high.',
      threshold: 80,
      evaluationPeriods: 3,
      comparisonOperator: breaching,
    });
    alarm('ToolsDatabaseFreeStorage', toolsDatabase.instance.metricFreeStorageSpace(average), {
      alarmDescription: 'The tools database is running out of storage (autoscaling storage may have reached its maximum).',
      threshold: Math.max(2, settings.toolsDatabase.allocatedStorageGiB / 10) * GIB,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }
}
