// The pages' texts, Chinese first, with English. t(key) looks one up in the chosen language.
'use strict';

const TEXTS = {
  zh: {
    'brand': '政府信用信息平台',
    'nav.complaint': '我要投诉', 'nav.status': '投诉查询', 'nav.agencies': '单位信用',
    'nav.audit': '审计核验', 'nav.signin': '工作人员登录', 'nav.signout': '退出',
    'footer': '所有提交均为不可篡改的签名事件，记入可验证的账本。',
    'home.title': '政府机关诚信监督',
    'home.lead': '市民可以投诉政府机关失信行为，并凭受理编号和查询密码查看办理进度。工作人员登录后可查看各单位信用状况，审计人员可在浏览器中核验账本证明。',
    'home.complain': '提交投诉', 'home.status': '查询进度', 'home.agencies': '查看单位信用', 'home.audit': '核验证明',
    'complaint.title': '投诉政府机关失信行为',
    'complaint.agency': '被投诉单位', 'complaint.category': '失信类别（可不选）',
    'complaint.summary': '投诉内容', 'complaint.contact': '联系方式（加密保存，仅受理人员可见）',
    'complaint.submit': '提交投诉', 'complaint.choose': '请选择',
    'complaint.done': '投诉已受理登记。请妥善保存以下受理编号和查询密码，查询进度时需要两者：',
    'complaint.receipt': '受理编号', 'complaint.secret': '查询密码',
    'complaint.warn': '查询密码只显示这一次，平台不保存明文。',
    'status.title': '投诉办理进度查询', 'status.submit': '查询',
    'status.phase': '办理状态', 'status.history': '办理记录', 'status.filed': '登记时间',
    'signin.title': '工作人员登录',
    'signin.lead': '使用您的 Ed25519 私钥（PEM 格式）签名每个请求。私钥只保存在本浏览器会话中，不会发送到服务器。',
    'signin.key': '私钥（PEM）', 'signin.submit': '登录', 'signin.demo': '演示身份（仅限演示数据）',
    'signin.ok': '已登录：', 'signin.needed': '请先登录（工作人员或审计人员）。',
    'agencies.title': '各单位信用状况', 'agencies.filter': '筛选', 'agencies.district': '区',
    'agencies.all': '全部', 'agencies.band': '等级', 'agencies.search': '搜索单位',
    'agencies.agency': '单位', 'agencies.score': '信用分', 'agencies.records': '已确认失信记录',
    'agencies.overdue': '逾期整改', 'agencies.chart.bands': '信用等级分布',
    'agencies.chart.overdue': '逾期整改最多的单位', 'agencies.asof': '截至',
    'agency.records': '失信记录（按状态）', 'agency.status': '信用状况', 'agency.explain': '评分明细', 'agency.trail': '审计轨迹',
    'agency.more': '加载更多', 'agency.recs': '整改建议', 'agency.deadline': '期限',
    'agency.overdue': '已逾期', 'agency.points': '分值', 'agency.reason': '依据',
    'audit.title': '在浏览器中核验包含证明',
    'audit.lead': '从服务器获取最新的签名检查点和某条账本记录的包含证明，并在本浏览器中用 WebCrypto SHA-256 重新计算默克尔根、用 Ed25519 校验检查点签名。',
    'audit.partition': '分区', 'audit.seq': '记录序号', 'audit.pubkey': '账本公钥（十六进制，可留空使用服务器提供的公钥）',
    'audit.run': '核验', 'audit.ok': '核验通过：该记录包含在已签名的检查点中。',
    'audit.bad': '核验失败：', 'audit.root': '默克尔根', 'audit.size': '树大小',
    'audit.sig.ok': '检查点签名有效', 'audit.sig.bad': '检查点签名无效',
    'audit.keynote': '注意：外部审计时请使用您独立获得的账本公钥。',
    'err': '出错了：', 'loading': '加载中…',
  },
  en: {
    'brand': 'Government Credit Ledger',
    'nav.complaint': 'File a complaint', 'nav.status': 'Complaint status', 'nav.agencies': 'Agencies',
    'nav.audit': 'Verify', 'nav.signin': 'Staff sign-in', 'nav.signout': 'Sign out',
    'footer': 'Every submission is an immutable signed event in a verifiable ledger.',
    'home.title': 'Oversight of government integrity',
    'home.lead': 'Citizens can report a government agency breaking faith and follow the complaint with its receipt number and secret. Signed-in staff see each agency\'s credit status; auditors verify the ledger\'s proofs in the browser.',
    'home.complain': 'File a complaint', 'home.status': 'Check progress', 'home.agencies': 'Agency credit', 'home.audit': 'Verify a proof',
    'complaint.title': 'Report a government agency',
    'complaint.agency': 'Agency', 'complaint.category': 'Category (optional)',
    'complaint.summary': 'What happened', 'complaint.contact': 'How to reach you (encrypted; only case handlers see it)',
    'complaint.submit': 'Submit', 'complaint.choose': 'Choose',
    'complaint.done': 'Your complaint is registered. Keep the receipt number and the secret: you need both to check its progress.',
    'complaint.receipt': 'Receipt number', 'complaint.secret': 'Secret',
    'complaint.warn': 'The secret is shown only this once; the service does not keep it.',
    'status.title': 'Complaint progress', 'status.submit': 'Look up',
    'status.phase': 'State', 'status.history': 'History', 'status.filed': 'Filed',
    'signin.title': 'Staff sign-in',
    'signin.lead': 'Requests are signed with your Ed25519 private key (PEM). The key stays in this browser session and is never sent to the server.',
    'signin.key': 'Private key (PEM)', 'signin.submit': 'Sign in', 'signin.demo': 'Demo identities (demo data only)',
    'signin.ok': 'Signed in as ', 'signin.needed': 'Please sign in first (staff or auditor).',
    'agencies.title': 'Agency credit status', 'agencies.filter': 'Filter', 'agencies.district': 'District',
    'agencies.all': 'All', 'agencies.band': 'Band', 'agencies.search': 'Search agencies',
    'agencies.agency': 'Agency', 'agencies.score': 'Score', 'agencies.records': 'Confirmed records',
    'agencies.overdue': 'Overdue', 'agencies.chart.bands': 'Agencies by band',
    'agencies.chart.overdue': 'Most overdue recommendations', 'agencies.asof': 'As of',
    'agency.records': 'Records by state', 'agency.status': 'Status', 'agency.explain': 'Score explained', 'agency.trail': 'Audit trail',
    'agency.more': 'Load more', 'agency.recs': 'Recommendations', 'agency.deadline': 'Deadline',
    'agency.overdue': 'overdue', 'agency.points': 'Points', 'agency.reason': 'Because',
    'audit.title': 'Verify an inclusion proof in the browser',
    'audit.lead': 'Fetches the latest signed checkpoint and the inclusion proof of one ledger entry, recomputes the Merkle root here with WebCrypto SHA-256 and checks the checkpoint\'s Ed25519 signature.',
    'audit.partition': 'Partition', 'audit.seq': 'Entry (seq)', 'audit.pubkey': 'Ledger public key (hex; empty: the one the server states)',
    'audit.run': 'Verify', 'audit.ok': 'Verified: the entry is included in the signed checkpoint.',
    'audit.bad': 'Verification failed: ', 'audit.root': 'Merkle root', 'audit.size': 'Tree size',
    'audit.sig.ok': 'checkpoint signature valid', 'audit.sig.bad': 'checkpoint signature INVALID',
    'audit.keynote': 'For an outside audit, use a ledger public key you obtained independently.',
    'err': 'Error: ', 'loading': 'Loading…',
  },
};

const PHASES = {
  zh: {
    awaiting_triage: '待受理', in_handling: '办理中', rejected: '不予受理', duplicate: '重复投诉',
    transferred: '已转办', closed: '已办结',
  },
  en: {
    awaiting_triage: 'awaiting triage', in_handling: 'in handling', rejected: 'not accepted',
    duplicate: 'duplicate', transferred: 'transferred', closed: 'closed',
  },
};

const RECORD_PHASES = {
  zh: { pending: '待核实', confirmed: '已确认', unfounded: '不属实', overturned: '已撤销', repaired: '已修复', expired: '已过期', total: '合计' },
  en: { pending: 'pending', confirmed: 'confirmed', unfounded: 'unfounded', overturned: 'overturned', repaired: 'repaired', expired: 'expired', total: 'total' },
};

const CATEGORIES = {
  zh: {
    disclosure: '政府信息公开不真实、该主动公开的不公开', service_commitment: '政府服务承诺不兑现',
    fiscal_fraud: '财政收支中弄虚作假', approval_violation: '行政审批中违规审批',
    levy_expropriation: '行政征收征用中政府失信', project_default: '政府承诺的重大实事工程不落实',
    adjudicated_fault: '行政复议、行政诉讼、信访中因失信败诉或被纠错', other: '其他不诚实守信的情况',
  },
  en: {
    disclosure: 'False disclosure', service_commitment: 'Broken service commitment',
    fiscal_fraud: 'Fiscal fraud', approval_violation: 'Unlawful approval',
    levy_expropriation: 'Levy or expropriation', project_default: 'Project default',
    adjudicated_fault: 'Adjudicated fault', other: 'Other',
  },
};

let LANG = localStorage.getItem('govcredit.lang') || 'zh';

function t(key) {
  return (TEXTS[LANG] && TEXTS[LANG][key]) || TEXTS.zh[key] || key;
}
function phaseName(p) { return (PHASES[LANG] || PHASES.zh)[p] || p; }
function recordPhaseName(p) { return (RECORD_PHASES[LANG] || RECORD_PHASES.zh)[p] || p; }
function categoryName(c) { return (CATEGORIES[LANG] || CATEGORIES.zh)[c] || c; }
function setLang(l) {
  LANG = l;
  localStorage.setItem('govcredit.lang', l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}
