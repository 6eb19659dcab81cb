// Class corpora for the accuracy test (issue #14), generated in memory at test time with a seeded
// generator: credential files judged by path and format, command lines and DSNs, paired
// credentials, confidence levels (hashes and public keys at `info`, encrypted values not at all),
// and the false-positive classes met on real repositories. Each file states what it must yield; the
// test measures recall and precision per class. Written independently of the rules' own examples.
import { seededRng } from '../../rules/examples.js';

/** What a file must yield: the secret, and `info` when it is a hash or a public key. */
export interface Expected {
  secret: string;
  info?: boolean;
  /** For pairs: the parts the engine's match must carry. */
  parts?: Record<string, string>;
  /** The context the finding must carry (judged by path). */
  context?: string;
}

export interface ClassFile {
  path: string;
  /** What the file shows, for failure reports. */
  what: string;
  text: string;
  expected: Expected[];
}

export interface ClassCorpus {
  name: string;
  files: ClassFile[];
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const HEX = '0123456789abcdef';
const B64 = `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/`;
const CRYPT = `./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz`;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

class Gen {
  private readonly rng: () => number;
  constructor(seed: number) {
    this.rng = seededRng(seed);
  }
  str(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.rng() * alphabet.length)];
    return s;
  }
  /** A password as people pick them for services: letters, digits and a symbol or two. */
  password(n = 16): string {
    return `${this.str(B62, n - 2)}${this.str('!#%+', 1)}${this.str(B62, 1)}`;
  }
  b62(n: number): string {
    return this.str(B62, n);
  }
  hex(n: number): string {
    return this.str(HEX, n);
  }
  b64(n: number): string {
    return this.str(B64, n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rng() * xs.length)]!;
  }
}

function file(path: string, what: string, text: string, expected: Expected[]): ClassFile {
  return { path, what, text, expected };
}

// ---- credential files ------------------------------------------------------------------------

function credentialFiles(g: Gen): ClassCorpus {
  const f: ClassFile[] = [];
  const p = () => g.password(16);
  {
    const a = p();
    const b = p();
    f.push(
      file(
        'home/deploy/.netrc',
        '.netrc, two machines, one spread over lines',
        `machine api.heroku.com\n  login ci@example.org\n  password ${a}\nmachine git.example.org login deploy password ${b}\n`,
        [{ secret: a }, { secret: b }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'home/app/.pgpass',
        '.pgpass with a comment and an escaped colon',
        `# hostname:port:database:username:password\ndb.internal:5432:app:app:${a}\n*:*:*:repl:${a.slice(0, 6)}\\:${a.slice(6)}\n`,
        [{ secret: a }, { secret: `${a.slice(0, 6)}\\:${a.slice(6)}` }],
      ),
    );
  }
  {
    const a = g.b62(36);
    f.push(file('home/dev/.git-credentials', '.git-credentials', `https://octo:${a}@github.example.com\n`, [{ secret: a }]));
  }
  {
    const a = p();
    f.push(
      file(
        'home/backup/.my.cnf',
        '.my.cnf [client] password',
        `[client]\nuser = backup\npassword = "${a}"\nhost = db.internal\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const h = `$apr1$${g.str(CRYPT, 8)}$${g.str(CRYPT, 22)}`;
    const b = `$2y$05$${g.str(CRYPT, 53)}`;
    f.push(
      file('etc/nginx/.htpasswd', 'htpasswd: apr1 and bcrypt hashes', `admin:${h}\nops:${b}\n`, [
        { secret: h, info: true },
        { secret: b, info: true },
      ]),
    );
  }
  {
    const h = `$6$${g.str(CRYPT, 16)}$${g.str(CRYPT, 86)}`;
    f.push(
      file(
        'backup/etc/shadow',
        '/etc/shadow with locked and hashed accounts',
        `root:${h}:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\nnobody:!:19700::::::\n`,
        [{ secret: h, info: true }],
      ),
    );
  }
  {
    const a = g.b64(24);
    f.push(
      file(
        'AppData/Roaming/FileZilla/sitemanager.xml',
        'FileZilla site manager',
        `<?xml version="1.0" encoding="UTF-8"?>\n<FileZilla3 version="3.66.1" platform="windows">\n  <Servers>\n    <Folder expanded="1">Clients\n      <Server>\n        <Host>ftp.client.example</Host>\n        <Port>21</Port>\n        <User>upload</User>\n        <Pass encoding="base64">${a}</Pass>\n        <Name>Client upload</Name>\n      </Server>\n    </Folder>\n  </Servers>\n</FileZilla3>\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = g.str('0123456789ABCDEF', 72);
    f.push(
      file(
        'AppData/Roaming/WinSCP.ini',
        'WinSCP.ini session',
        `[Sessions\\ops@web01]\nHostName=web01.example.org\nUserName=ops\nPassword=${a}\nFSProtocol=2\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'site/.vscode/sftp.json',
        'VS Code SFTP extension settings',
        `{\n  "name": "prod",\n  "host": "www.example.org",\n  "protocol": "sftp",\n  "port": 22,\n  "username": "deploy",\n  "password": "${a}",\n  "remotePath": "/var/www/html",\n  "uploadOnSave": true\n}\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'theme/sftp-config.json',
        'Sublime SFTP settings with comments and a trailing comma',
        `{\n    // The tab key will cycle through the settings\n    "type": "ftp",\n    "upload_on_save": true,\n    "host": "ftp.example.org",\n    "user": "theme",\n    "password": "${a}",\n    //"port": "21",\n    "remote_path": "/public_html/",\n}\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'app/.idea/dataSources.local.xml',
        'JetBrains data source with a stored password option',
        `<?xml version="1.0" encoding="UTF-8"?>\n<project version="4">\n  <component name="dataSourceStorageLocal" created-in="IU-241.14494.240">\n    <data-source name="prod@db" uuid="0c1d">\n      <database-info product="PostgreSQL" version="15.4" />\n      <user-name>app</user-name>\n      <option name="password" value="${a}" />\n    </data-source>\n  </component>\n</project>\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'home/u/.3T/robo-3t/1.4.4/robo3t.json',
        'Robo 3T connections',
        JSON.stringify(
          {
            connections: [
              {
                connectionName: 'prod',
                serverHost: 'mongo.internal',
                credentials: [{ databaseName: 'admin', userName: 'admin', userPassword: a }],
              },
            ],
          },
          null,
          4,
        ),
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'workspace6/General/.dbeaver/data-sources.json',
        'DBeaver data source with pre-configured credentials',
        JSON.stringify(
          {
            folders: {},
            connections: {
              'postgres-jdbc-1': {
                provider: 'postgresql',
                'save-password': true,
                configuration: {
                  host: 'db',
                  port: '5432',
                  'auth-model': 'native',
                  'auth-properties': { userName: 'app', userPassword: a },
                },
              },
            },
          },
          null,
          2,
        ),
        [{ secret: a }],
      ),
    );
  }
  {
    const a = g.b62(40);
    const b = g.b64(32);
    f.push(
      file(
        'web/.npmrc',
        '.npmrc scoped registry credentials',
        `@acme:registry=https://npm.acme.example/\n//npm.acme.example/:_authToken=${a}\n//nexus.acme.example/repository/npm/:_password=${b}\n`,
        [{ secret: a }, { secret: b }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'home/ci/.pypirc',
        '.pypirc private index',
        `[distutils]\nindex-servers =\n    internal\n\n[internal]\nrepository: https://pypi.acme.example/\nusername: ci\npassword: ${a}\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'home/ci/.m2/settings.xml',
        'Maven settings servers',
        `<settings>\n  <servers>\n    <server>\n      <id>acme-releases</id>\n      <username>deployer</username>\n      <password>${a}</password>\n    </server>\n    <server>\n      <id>acme-snapshots</id>\n      <username>deployer</username>\n      <password>\${env.SNAPSHOT_PASSWORD}</password>\n    </server>\n  </servers>\n</settings>\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'gradle.properties',
        'gradle.properties publishing credentials',
        `org.gradle.jvmargs=-Xmx2g\nsigning.keyId=24875D73\nossrhUsername=acme-release\nossrhPassword=${a}\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    const t = g.b62(40);
    f.push(
      file(
        'auth.json',
        'Composer auth.json',
        JSON.stringify(
          { 'http-basic': { 'repo.acme.example': { username: 'ci', password: a } }, 'github-oauth': { 'github.com': t } },
          null,
          4,
        ),
        [{ secret: a }, { secret: t }],
      ),
    );
  }
  {
    const a = g.b64(64);
    f.push(
      file(
        'home/ci/.docker/config.json',
        'Docker config with an identity token',
        JSON.stringify({ auths: { 'registry.acme.example': { identitytoken: a } } }, null, '\t'),
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'home/me/.msmtprc',
        '.msmtprc account',
        `defaults\ntls on\naccount work\nhost smtp.acme.example\nport 587\nuser me@acme.example\npassword ${a}\naccount default : work\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'home/me/.muttrc',
        'muttrc IMAP password',
        `set imap_user = "me@acme.example"\nset imap_pass = "${a}"\nset folder = "imaps://imap.acme.example/"\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const k = g.hex(32);
    f.push(file('config/master.key', 'Rails master.key', k, [{ secret: k }]));
  }
  {
    const k = g.hex(128);
    f.push(
      file(
        'config/secrets.yml',
        'Rails secrets.yml',
        `development:\n  secret_key_base: <%= ENV["SECRET_KEY_BASE"] %>\nproduction:\n  secret_key_base: ${k}\n`,
        [{ secret: k }],
      ),
    );
  }
  {
    const salts = [
      'AUTH_KEY',
      'SECURE_AUTH_KEY',
      'LOGGED_IN_KEY',
      'NONCE_KEY',
      'AUTH_SALT',
      'SECURE_AUTH_SALT',
      'LOGGED_IN_SALT',
      'NONCE_SALT',
    ];
    const WP = `${B62}!@#$%^&*()-_ []{}<>~+=,.;:/?|`;
    const values = salts.map(() => g.str(WP, 64));
    const db = p();
    const lines = [
      '<?php',
      "define( 'DB_NAME', 'wordpress' );",
      "define( 'DB_USER', 'wp' );",
      `define( 'DB_PASSWORD', '${db}' );`,
      "define( 'DB_HOST', 'localhost' );",
      ...salts.map((s, i) => `define( '${s}',${' '.repeat(17 - s.length)}'${values[i]}' );`),
      "$table_prefix = 'wp_';",
    ];
    f.push(
      file('public_html/wp-config.php', 'wp-config.php: DB password and the eight keys and salts', `${lines.join('\n')}\n`, [
        { secret: db },
        ...values.map((secret) => ({ secret })),
      ]),
    );
  }
  {
    const k = `base64:${g.b64(43)}=`;
    const s = g.hex(32);
    f.push(
      file('.env', 'Laravel and Symfony app keys in .env', `APP_NAME=Shop\nAPP_ENV=production\nAPP_KEY=${k}\nAPP_SECRET=${s}\n`, [
        { secret: k },
        { secret: s },
      ]),
    );
  }
  {
    const django = `${g.str('abcdefghijklmnopqrstuvwxyz0123456789', 20)}(-_${g.str('abcdefghijklmnopqrstuvwxyz0123456789', 12)}&${g.str('abcdefghijklmnopqrstuvwxyz0123456789', 14)}`;
    f.push(
      file(
        'shop/settings/production.py',
        'Django settings SECRET_KEY with ( and &',
        `from .base import *\n\nDEBUG = False\nSECRET_KEY = '${django}'\nALLOWED_HOSTS = ["shop.example.org"]\n`,
        [{ secret: django }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'src/main/resources/application-prod.yml',
        'Spring application.yml datasource',
        `spring:\n  datasource:\n    url: jdbc:postgresql://db:5432/shop\n    username: shop\n    password: ${a}\n  jpa:\n    open-in-view: false\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file(
        'src/main/resources/application.properties',
        'Spring application.properties mail password',
        `spring.mail.host=smtp.acme.example\nspring.mail.username=noreply\nspring.mail.password=${a}\n`,
        [{ secret: a }],
      ),
    );
  }
  {
    const b = `$2y$10$${g.str(CRYPT, 53)}`;
    const ph = `$P$B${g.str(CRYPT, 30)}`;
    const pw = p();
    f.push(
      file(
        'backup/shop-2024-05-01.sql',
        'SQL dump: CREATE USER and hash columns',
        `-- MySQL dump 10.13\nCREATE USER 'shop'@'%' IDENTIFIED BY '${pw}';\nINSERT INTO \`users\` VALUES (1,'admin','admin@example.org','${b}','2024-01-01'),(2,'ed','ed@example.org','${ph}','2024-02-01');\n`,
        [{ secret: pw }, { secret: b, info: true }, { secret: ph, info: true }],
      ),
    );
  }
  {
    const a = p();
    const s = g.b64(40);
    f.push(
      file(
        'infra/terraform.tfstate',
        'Terraform state',
        JSON.stringify(
          {
            version: 4,
            resources: [
              {
                mode: 'managed',
                type: 'aws_db_instance',
                name: 'main',
                instances: [{ attributes: { identifier: 'main', username: 'admin', password: a, port: 5432 } }],
              },
              {
                mode: 'managed',
                type: 'aws_iam_access_key',
                name: 'ci',
                instances: [{ attributes: { id: 'AKIAIOSFODNN7EXAMPLE', secret: s, status: 'Active' } }],
              },
            ],
          },
          null,
          2,
        ),
        [{ secret: a }, { secret: s }],
      ),
    );
  }
  {
    const a = p();
    f.push(
      file('infra/prod.tfvars', '.tfvars', `region      = "eu-west-1"\ndb_username = "admin"\ndb_password = "${a}"\n`, [
        { secret: a },
      ]),
    );
  }
  {
    const t = g.b62(64);
    f.push(
      file(
        'deploy/ci.kubeconfig',
        'kubeconfig with a user token',
        `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://k8s.acme.example:6443\n  name: prod\nusers:\n- name: ci\n  user:\n    token: ${t}\ncontexts:\n- context:\n    cluster: prod\n    user: ci\n  name: prod\n`,
        [{ secret: t }],
      ),
    );
  }
  f.push(
    file('android/app/release.keystore', 'Java keystore (reported by path)', `\u00fe\u00ed\u00fe\u00ed${g.b64(200)}`, [
      { secret: '(by path)' },
    ]),
  );

  // Negatives: the same kinds of files, clean.
  f.push(file('home/u/.netrc', 'netrc with an env reference', 'machine github.com login octocat password ${GITHUB_TOKEN}\n', []));
  f.push(file('home/u/.my.cnf', 'my.cnf without a password', '[client]\nuser=app\nsocket=/var/run/mysqld/mysqld.sock\n', []));
  f.push(
    file(
      'home/u/.npmrc',
      '.npmrc referencing the environment',
      'registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nalways-auth=true\n',
      [],
    ),
  );
  f.push(
    file(
      'public_html/wp-config-sample.php',
      'WordPress sample config',
      "<?php\ndefine( 'DB_PASSWORD', 'password_here' );\ndefine( 'AUTH_KEY',         'put your unique phrase here' );\ndefine( 'NONCE_SALT',       'put your unique phrase here' );\n",
      [],
    ),
  );
  f.push(
    file(
      'config/credentials.yml.enc',
      'Rails encrypted credentials (ciphertext)',
      `${g.b64(180)}--${g.b64(16)}--${g.b64(22)}==`,
      [],
    ),
  );
  f.push(
    file(
      'src/main/resources/application.yml',
      'Spring config with placeholders',
      'spring:\n  datasource:\n    password: ${DB_PASSWORD:}\n  security:\n    oauth2:\n      client:\n        registration:\n          github:\n            client-secret: ${GITHUB_CLIENT_SECRET}\n',
      [],
    ),
  );
  f.push(
    file(
      'home/ci/.m2/settings-ci.xml',
      'Maven settings with encrypted and env passwords',
      '<settings><servers><server><id>r</id><password>{COQLCE6DU6GtcS5P=}</password></server></servers></settings>\n',
      [],
    ),
  );
  f.push(
    file(
      'deploy/kubeconfig.yaml',
      'kubeconfig with an exec plugin',
      'users:\n- name: gke\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: gke-gcloud-auth-plugin\n',
      [],
    ),
  );
  f.push(
    file(
      'src/notes/pgpass-format.txt',
      'a .pgpass line in a file no credential rule selects',
      `db.internal:5432:app:app:${g.b62(12)}\n`,
      [],
    ),
  );
  return { name: 'credential files (path + format)', files: f };
}

// ---- command lines and DSNs ------------------------------------------------------------------

function commandLines(g: Gen): ClassCorpus {
  const f: ClassFile[] = [];
  const p = () => g.password(14).replace(/[!#%+]/g, '_');
  const wrap = (kind: string, cmd: string): [string, string] => {
    switch (kind) {
      case 'sh':
        return ['scripts/deploy.sh', `#!/usr/bin/env bash\nset -euo pipefail\n\n${cmd}\n`];
      case 'docker':
        return ['Dockerfile', `FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\nRUN ${cmd}\n`];
      case 'ci':
        return ['.gitlab-ci.yml', `deploy:\n  stage: deploy\n  script:\n    - ${cmd}\n`];
      case 'history':
        return ['home/ops/.bash_history', `ls -la\ncd /srv/app\n${cmd}\nexit\n`];
      default:
        return ['Makefile', `deploy:\n\t${cmd}\n`];
    }
  };
  const cases: Array<(s: string) => string> = [
    (s) => `curl -fsS -u admin:${s} https://jenkins.acme.example/api/json`,
    (s) => `mysql -h db.internal -u root -p${s} shop < schema.sql`,
    (s) => `mysqldump --single-transaction -u backup --password=${s} shop > /backup/shop.sql`,
    (s) => `sshpass -p '${s}' ssh -o StrictHostKeyChecking=no ops@10.0.0.12 uptime`,
    (s) => `PGPASSWORD=${s} psql -h db.internal -U app -c 'select 1'`,
    (s) => `redis-cli -h cache.internal -a ${s} ping`,
    (s) => `docker login -u ci -p ${s} registry.acme.example`,
    (s) => `htpasswd -cb /etc/nginx/.htpasswd admin ${s}`,
    (s) => `export BORG_PASSPHRASE='${s}'`,
    (s) => `RESTIC_PASSWORD=${s} restic -r /srv/backup snapshots`,
    (s) => `ldapsearch -x -H ldaps://dc01.acme.example -D "cn=svc,dc=acme,dc=example" -w ${s} -b dc=acme,dc=example`,
    (s) => `openssl pkcs12 -export -in tls.crt -inkey tls.key -out tls.p12 -passout pass:${s}`,
    (s) => `sqlcmd -S sql01 -U sa -P ${s} -Q "SELECT 1"`,
    (s) => `mongosh --host mongo.internal -u admin -p ${s} --authenticationDatabase admin`,
  ];
  const kinds = ['sh', 'docker', 'ci', 'history', 'make'];
  cases.forEach((c, i) => {
    const s = p();
    const [path, text] = wrap(kinds[i % kinds.length]!, c(s));
    f.push(file(`cmd${i}/${path}`, c('<pw>').slice(0, 48), text, [{ secret: s }]));
  });
  const dsn = [
    (s: string) => `db, err := sql.Open("mysql", "shop:${s}@tcp(db.internal:3306)/shop?parseTime=true")`,
    (s: string) =>
      `"ConnectionStrings": { "Default": "Server=tcp:sql01.acme.example,1433;Initial Catalog=Shop;User ID=shop;Password=${s};Encrypt=True;" }`,
    (s: string) => `spring.datasource.url=jdbc:mysql://db.internal:3306/shop?user=shop&password=${s}&useSSL=true`,
    (s: string) => `url = "jdbc:oracle:thin:scott/${s}@db01.acme.example:1521/ORCLPDB1"`,
    (s: string) => `Driver={ODBC Driver 18 for SQL Server};Server=db;Uid=etl;Pwd=${s};`,
  ];
  const dsnPaths = ['cmd/api/db.go', 'appsettings.json', 'config/app.properties', 'src/Db.java', 'etl/conn.txt'];
  dsn.forEach((d, i) => {
    const s = p();
    f.push(file(`dsn${i}/${dsnPaths[i]}`, d('<pw>').slice(0, 48), `${d(s)}\n`, [{ secret: s }]));
  });
  // Negatives: prompts, references, printf verbs, defaults.
  f.push(
    file(
      'scripts/safe.sh',
      'commands that carry no password',
      [
        'mysql -u root -p shop',
        'mysql -u root -p"$MYSQL_ROOT_PASSWORD" shop',
        'curl -u "$USER:$TOKEN" https://api.acme.example/',
        'curl -u sk_test_xxxxxxxxxxxxxxxx: https://api.stripe.com/v1/charges',
        'echo "$REGISTRY_TOKEN" | docker login -u ci --password-stdin registry.acme.example',
        'sshpass -f /run/secrets/ssh ssh ops@host',
        'ldapsearch -x -D "cn=admin,dc=acme,dc=example" -W -b dc=acme,dc=example',
        'openssl rsa -in enc.key -passin env:KEY_PASS -out plain.key',
        'redis-cli --askpass ping',
        'htpasswd -c /etc/nginx/.htpasswd admin',
        'export PGPASSWORD="$(cat /run/secrets/pg)"',
        'dsn := fmt.Sprintf("%s:%s@tcp(%s)/%s", user, pass, host, name)',
        'keytool -list -keystore debug.keystore -storepass android',
      ].join('\n'),
      [],
    ),
  );
  return { name: 'command lines and DSNs', files: f };
}

// ---- paired credentials ----------------------------------------------------------------------

function pairs(g: Gen): ClassCorpus {
  const f: ClassFile[] = [];
  const akia = () => `AKIA${g.str(BASE32, 16)}`;
  {
    const id = akia();
    const s = g.b64(40);
    f.push(
      file(
        'backup/s3.ini',
        'AWS pair in an INI file without aws_ names',
        `[backup]\naccess_key = ${id}\nsecret_key = ${s}\nbucket = acme-backups\n`,
        [{ secret: s, parts: { accessKeyId: id, secretAccessKey: s } }],
      ),
    );
  }
  {
    const id = akia();
    const s = g.b64(40);
    f.push(
      file(
        'Downloads/credentials.csv',
        'IAM console credentials.csv',
        `User name,Password,Access key ID,Secret access key,Console login link\nci,,${id},${s},https://acme.signin.aws.amazon.com/console\n`,
        [{ secret: s, parts: { accessKeyId: id, secretAccessKey: s } }],
      ),
    );
  }
  {
    const id = `ASIA${g.str(BASE32, 16)}`;
    const s = g.b64(40);
    f.push(
      file(
        'tools/upload.py',
        'boto3 client with both halves',
        `import boto3\n\ns3 = boto3.client(\n    "s3",\n    aws_access_key_id="${id}",\n    aws_secret_access_key="${s}",\n)\n`,
        [{ secret: s, parts: { accessKeyId: id, secretAccessKey: s } }],
      ),
    );
  }
  {
    const sid = `SK${g.hex(32)}`;
    const s = g.b62(32);
    f.push(
      file(
        'notify/sms.py',
        'Twilio API key SID and secret without "twilio" on their lines',
        `from twilio.rest import Client\n\napi_key_sid = "${sid}"\napi_key_secret = "${s}"\naccount_sid = "AC${g.hex(32)}"\nclient = Client(api_key_sid, api_key_secret, account_sid)\n`,
        [{ secret: s, parts: { sid, secret: s } }],
      ),
    );
  }
  {
    const sid = `SK${g.hex(32)}`;
    const s = g.b62(32);
    f.push(
      file(
        'notify/client.js',
        'Twilio client built with SID and secret arguments',
        `const client = twilio("${sid}", "${s}", { accountSid: process.env.TWILIO_ACCOUNT_SID });\n`,
        [{ secret: s, parts: { sid, secret: s } }],
      ),
    );
  }
  // Negatives: halves too far apart or not secrets.
  f.push(
    file(
      'docs/aws.md',
      'AWS documented example pair',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n',
      [],
    ),
  );
  f.push(file('src/ids.py', 'an SK id beside a hex digest', `sid = "SK${g.hex(32)}"\nchecksum = "${g.hex(32)}"\n`, []));
  return { name: 'paired credentials', files: f };
}

// ---- confidence levels -----------------------------------------------------------------------

function confidenceLevels(g: Gen): ClassCorpus {
  const f: ClassFile[] = [];
  {
    const pk = `pk.eyJ1IjoiYWNtZS1tYXBzIiwiYSI6ImNs${g.str(B62, 18)}.${g.str(`${B62}_-`, 22)}`;
    f.push(file('web/src/map.ts', 'Mapbox public token', `mapboxgl.accessToken = "${pk}";\n`, [{ secret: pk, info: true }]));
  }
  {
    const pk = `pk_live_${g.b62(99)}`;
    f.push(
      file('web/src/checkout.js', 'Stripe publishable key', `const stripe = Stripe("${pk}");\n`, [{ secret: pk, info: true }]),
    );
  }
  {
    const key = `AIza${g.str(`${B62}_-`, 35)}`;
    f.push(
      file(
        'web/src/firebase.js',
        'Firebase web config',
        `const firebaseConfig = {\n  apiKey: "${key}",\n  authDomain: "acme-shop.firebaseapp.com",\n  projectId: "acme-shop",\n  storageBucket: "acme-shop.appspot.com",\n  messagingSenderId: "123456789012",\n};\n`,
        [{ secret: key, info: true }],
      ),
    );
  }
  {
    const h = `pbkdf2_sha256$600000$${g.b62(22)}$${g.b64(43)}=`;
    f.push(
      file(
        'accounts/fixtures/users.json',
        'Django user fixture with a password hash',
        JSON.stringify([{ model: 'auth.user', pk: 1, fields: { username: 'admin', password: h } }], null, 2),
        [],
      ),
    );
  }
  {
    const h = `*${g.str('0123456789ABCDEF', 40)}`;
    f.push(
      file(
        'db/grants.sql',
        'MySQL native password hash',
        `CREATE USER 'app'@'%' IDENTIFIED WITH mysql_native_password AS '${h}';\n`,
        [{ secret: h, info: true }],
      ),
    );
  }
  // Encrypted values: not secrets.
  f.push(
    file(
      'deploy/secrets.enc.yaml',
      'SOPS-encrypted YAML',
      `db:\n    password: ENC[AES256_GCM,data:${g.b64(24)}=,iv:${g.b64(43)}=,tag:${g.b64(22)}==,type:str]\n    api_token: ENC[AES256_GCM,data:${g.b64(56)},iv:${g.b64(43)}=,tag:${g.b64(22)}==,type:str]\nsops:\n    age:\n        - recipient: age1${g.str('qpzry9x8gf2tvdw0s3jn54khce6mua7l', 58)}\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            ${g.b64(64)}\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: "2024-05-01T12:00:00Z"\n    mac: ENC[AES256_GCM,data:${g.b64(86)}==,iv:${g.b64(43)}=,tag:${g.b64(22)}==,type:str]\n    version: 3.8.1\n`,
      [],
    ),
  );
  f.push(
    file(
      'deploy/.env.enc',
      'SOPS-encrypted dotenv',
      `DB_PASSWORD=ENC[AES256_GCM,data:${g.b64(20)},iv:${g.b64(43)}=,tag:${g.b64(22)}==,type:str]\nsops_mac=ENC[AES256_GCM,data:${g.b64(86)}==,iv:${g.b64(43)}=,tag:${g.b64(22)}==,type:str]\n`,
      [],
    ),
  );
  f.push(
    file(
      'deploy/secrets.json',
      'SOPS-encrypted JSON',
      JSON.stringify(
        {
          password: `ENC[AES256_GCM,data:${g.b64(24)},iv:${g.b64(43)}=,tag:${g.b64(22)}==,type:str]`,
          sops: { mac: `ENC[AES256_GCM,data:${g.b64(86)}==,iv:${g.b64(43)}=,tag:${g.b64(22)}==,type:str]` },
        },
        null,
        2,
      ),
      [],
    ),
  );
  const vault = Array.from({ length: 6 }, () => g.hex(80)).join('\n          ');
  f.push(
    file(
      'group_vars/prod/vault.yml',
      'Ansible Vault inline value',
      `db_password: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          ${vault}\n`,
      [],
    ),
  );
  f.push(
    file(
      'group_vars/prod/secrets.yml',
      'Ansible Vault file',
      `$ANSIBLE_VAULT;1.1;AES256\n${Array.from({ length: 10 }, () => g.hex(80)).join('\n')}\n`,
      [],
    ),
  );
  f.push(
    file(
      'k8s/sealed-db.yaml',
      'Bitnami sealed secret',
      `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\nspec:\n  encryptedData:\n    password: Ag${g.b64(726)}==\n    token: Ag${g.b64(726)}==\n`,
      [],
    ),
  );
  return { name: 'confidence levels (hashes, public keys at info; encrypted values not at all)', files: f };
}

// ---- context and false-positive classes ------------------------------------------------------

function contextAndFpClasses(g: Gen): ClassCorpus {
  const f: ClassFile[] = [];
  const ghpLike = () => `glpat-${g.str(`${B62}_-`, 20)}`;
  const places: Array<[string, string]> = [
    ['spec/models/user_spec.rb', 'test'],
    ['pkg/client/client_test.go', 'test'],
    ['test/fixtures/tokens.yml', 'fixture'],
    ['docs/ci.md', 'docs'],
    ['examples/gitlab/.env.example', 'example'],
    ['src/ci/trigger.ts', 'code'],
  ];
  for (const [path, context] of places) {
    const t = ghpLike();
    f.push(file(path, `a GitLab token in a ${context} file`, `GITLAB_TOKEN=${t}\n`, [{ secret: t, context }]));
  }
  // False-positive classes met on real repositories: each must yield nothing.
  f.push(
    file(
      'docs/sources/send-data/promtail.md',
      'angle-bracket placeholders in URL userinfo (grafana/loki docs)',
      [
        'clients:',
        '  - url: https://<user_id>:<password>@logs-prod-us-central1.grafana.net/loki/api/v1/push',
        '  - url: http://<username>:<api_key>@loki.example.org:3100/loki/api/v1/push',
        'curl -u <user_id>:<token> https://logs-prod-eu-west-0.grafana.net/loki/api/v1/labels',
        'export LOKI_ADDR=https://<user>:<secret>@loki.example.org',
      ].join('\n'),
      [],
    ),
  );
  f.push(
    file(
      'app/migrations/0001_initial.py',
      'ORM field definitions (Django migration, wagtail)',
      [
        'migrations.CreateModel(',
        '    name="PageViewRestriction",',
        '    fields=[',
        '        ("id", models.AutoField(primary_key=True, serialize=False)),',
        '        ("password", models.CharField(verbose_name="Password", max_length=255)),',
        '        ("password", models.CharField(max_length=128, verbose_name="password")),',
        '        ("api_token", models.CharField(blank=True, max_length=40, verbose_name="API token")),',
        '    ],',
        ')',
      ].join('\n'),
      [],
    ),
  );
  f.push(
    file(
      'app/models.py',
      'ORM fields in models (Django, SQLAlchemy)',
      [
        'class User(AbstractBaseUser):',
        "    password = models.CharField(_('password'), max_length=128)",
        '    secret_key = models.CharField(max_length=64, editable=False)',
        'class Account(Base):',
        '    password_hash = Column(String(128), nullable=False)',
        '    api_token: Mapped[str] = mapped_column(String(64), unique=True)',
      ].join('\n'),
      [],
    ),
  );
  f.push(
    file(
      'src/models/user.js',
      'ORM fields in JS and TS models (Sequelize, Mongoose, TypeORM)',
      [
        'const User = sequelize.define("User", {',
        '  password: { type: DataTypes.STRING, allowNull: false },',
        '  resetToken: DataTypes.STRING,',
        '});',
        'const schema = new Schema({ password: { type: String, required: true, select: false } });',
        '@Column({ type: "varchar", length: 255 }) password: string;',
      ].join('\n'),
      [],
    ),
  );
  f.push(
    file(
      'db/migrate/20240101000000_create_users.rb',
      'ORM fields in Rails, Laravel, Ecto and Prisma schemas',
      [
        't.string :password_digest, null: false',
        "$table->string('password');",
        '$table->rememberToken();',
        'field :password, :string, virtual: true, redact: true',
        'model User {\n  password String\n  apiToken String? @unique\n}',
      ].join('\n'),
      [],
    ),
  );
  f.push(
    file(
      'operator/internal/manifests/rules_config.go',
      'prose that says "identified by" (grafana/loki)',
      '\t// If configmap size exceeds 1MB, split it into shards, identified by "prefix+index"\n\tshards := shardedCM.Shard(opts)\n',
      [],
    ),
  );
  f.push(
    file(
      'config/testdata/conf.good.yml',
      'a key id paired with a placeholder UUID (prometheus Scaleway config)',
      `scaleway_sd_configs:\n  - role: instance\n    project_id: 11111111-1111-1111-1111-111111111112\n    access_key: SCWXXXXXXXXXXXXXXXXX\n    secret_key: 11111111-1111-1111-1111-111111111111\n`,
      [],
    ),
  );
  {
    const hash = `md5$seasalt$${g.hex(32)}`;
    f.push(
      file(
        'wagtail/test/customuser/fixtures/test.json',
        'Django md5 password hashes in user fixtures (wagtail)',
        `[{"model": "customuser.customuser", "fields": {"password": "${hash}", "email": "superuser@example.com"}}]\n`,
        [],
      ),
    );
  }
  return { name: 'context and false-positive classes', files: f };
}

/** Each class generated with several seeds: a rule must hold for any generated secret, not one draw. */
export function classCorpora(seeds: readonly number[] = [1414, 1, 2, 3, 4, 5, 6, 7]): ClassCorpus[] {
  const builders = [credentialFiles, commandLines, pairs, confidenceLevels, contextAndFpClasses];
  return builders.map((build) => {
    const runs = seeds.map((seed) => build(new Gen(seed)));
    return { name: runs[0]!.name, files: runs.flatMap((r) => r.files) };
  });
}
