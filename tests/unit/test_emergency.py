"""The emergency detector on messages as residents type them.

These are the tuning examples (written for tuning the rules in knowledge/data/emergency/); the frozen dev
set in tests/data/ was never read while tuning. Recall matters more than precision, but ordinary words that
share a character with danger (火锅, 漏交, 困难, 电梯广告) must not raise an alarm.
"""

from __future__ import annotations

import time

import pytest

from knowledge.emergency import (
    EMERGENCY_KINDS,
    NO_EMERGENCY,
    detect_emergency,
    is_distress_call,
    is_rights_question,
)

POSITIVES: dict[str, list[str]] = {
    "lift": [
        "电梯里有人被困了",
        "我被困在电梯里了，快来人",
        "3栋电梯困人了！！",
        "电梯卡在5楼和6楼中间 我出不来",
        "救命 电梯突然往下掉 现在停在半空",
        "电梯门打不开了我和孩子关在里面",
        "电梯停了里面有个老人",
        "电梯夹住人了",
        "有人困在电梯里喊救命",
        "電梯裏有人被困，快來人",
        "点梯困人了快来",  # pinyin typo
        "电梯坏了 我被关在里面了 快点",
        "我们在电梯里被困了二十分钟了没人来",
        "someone is stuck in the lift",
        "I'm trapped in the elevator!",
        "elevator stuck with people inside",
        "2单元电梯突然断电 有人被困",
    ],
    "gas": [
        "家里有煤气味",
        "楼道里一股煤气味，是不是漏气了",
        "厨房燃气泄漏了怎么办",
        "我闻到很重的燃气味",
        "隔壁天然气漏了 味道好大",
        "燃气灶那里一直嗤嗤响 漏气",
        "煤汽味好重啊",  # typo
        "液化气罐漏气了",
        "楼下有很大的煤气味快来看看",
        "家裡有瓦斯味",  # traditional, Taiwanese word
        "smell gas in the kitchen",
        "I can smell gas in the corridor",
        "there is a gas leak on the 3rd floor",
        "満屋子都是燃气的味道",
    ],
    "fire": [
        "楼道着火了",
        "有人放火",
        "5楼起火了快打119",
        "楼下冒烟了好多烟",
        "车库里一辆电动车烧起来了",
        "对面楼有火光 黑烟很大",
        "地下室失火了",
        "厨房油锅着火了灭不掉",
        "3栋有浓烟",
        "电动车电瓶炸了",
        "烟雾报警器一直响，屋里全是烟",
        "樓道著火了",  # traditional
        "着火啦啦啦快来人",
        "there's a fire in building 2",
        "smoke coming out of the basement",
        "the car park is on fire",
        "楼道里有股烧焦的味道",
    ],
    "electric": [
        "楼道电箱冒火花了",
        "插座冒火花还冒烟",
        "配电箱在冒烟 噼啪响",
        "电线裸露在外面还下着雨",
        "楼下电线掉下来了在地上",
        "孩子被电到了",
        "墙上开关打火",
        "电表箱着火了",
        "热水器漏电 洗澡麻手",
        "飞线充电的插排烧起来了",
        "sparks coming out of the socket",
        "exposed wires in the stairwell",
        "電箱冒火花",
    ],
    "water": [
        "楼上往下灌水 家里成河了",
        "水管爆了家里全是水",
        "水管爆了",
        "爆管了 水一直往外喷",
        "家里淹了快来人",
        "卫生间水管裂开了喷水",
        "天花板哗哗往下漏水",
        "地下室被淹了",
        "楼道全是水 从楼上流下来的",
        "总阀关不住 水越来越大",
        "水管暴了",  # typo
        "暖气管爆了满屋都是水",
        "burst pipe in the kitchen, water everywhere",
        "my flat is flooded",
        "水管爆咗成屋都系水",  # Cantonese
    ],
    "medical": [
        "楼下有个老人晕倒了",
        "我爸突然倒在地上叫不醒",
        "快叫救护车 有人昏迷了",
        "老太太在楼道摔倒了起不来",
        "他没有呼吸了",
        "有人心脏病发作",
        "小孩抽搐口吐白沫",
        "有人要跳楼",
        "被狗咬伤了流了好多血",
        "邻居大爷晕到了",  # typo
        "someone collapsed in the lobby",
        "my husband is not breathing",
        "an old man fainted near gate 2",
        "老人喘不上气了",
    ],
    # Someone attacking, threatening or breaking in, now: 110.
    "violence": [
        "有人拿刀在楼下砍人",
        "他说要杀了我",
        "我被家暴了 他还在打我",
        "老公喝醉了在家里砸东西 说要弄死我 我现在躲在卫生间",
        "有人在撬我家门锁 人还在门外",
        "楼下有人在打架 有个拿着刀",
        "有陌生人闯进我家了",
        "救命 有人抢劫",
        "他掐住我脖子",
        "前夫在门口拿着刀 说要砍死我全家",
        "my husband is beating me right now",
        "someone is breaking into my flat",
        "a man with a knife is in the lobby",
        "有人砸我家门 说要进来",
        "小偷还在屋里",
        "我老公又打我了 我逃出来了",
        "有个男的一直跟着我 我好害怕",
        "有人在小区里抢包",
        "a drunk guy is kicking my door",
        "隔壁又在打老婆了 叫得很惨 就现在",
        "孩子被陌生人领走了 刚刚",
        "邻居喝醉了拿着刀在楼道喊",
        "有人在车棚偷电瓶 我正看着",
        "Someone is trying to force my front door open right now, I can hear them",
        # From a review: the plainest calls for help.
        "救命 有人打我",
        "有人打我",
        "有人在打我",
        "老公打我了",
        "我老公打我 快来人",
        "他掐我",
        "有人被砍了",
        "有人被捅了",
        "有人被打伤了",
        "楼下有人被打",
        "我被打了 好多血",
        "保安在打人",
        "城管在打人",
        "楼上在打老婆",
        "楼上男的在打老婆 叫得很惨",
        "隔壁男的在打女的",
        "隔壁在家暴",
        "老公在砸东西",
        "他在砸东西 我好怕",
        "我被锁在家里了 他打我",
        "他用刀威胁我",
        "前夫在门口砸门",
        "有小偷",
        "家里有小偷",
        "快来 有小偷",
        "有人翻墙进来了",
        "有人翻窗户进来了",
        "有人在爬我家窗户",
        "有人在偷电动车",
        "有人跟踪我",
        "有人尾随我进电梯",
        "有人非礼我",
        "电梯里有人摸我",
        "孩子被拐了",
        "有人抱走了我的孩子",
        "有人抢我孩子",
        "有人开枪",
        "有人在砸车",
        "门口有人闹事 快来",
        "there's an intruder",
        "burglar in my house",
        "my neighbour is beating his wife right now",
        "someone pulled a knife on me",
        "I've been mugged",
        "I was just robbed",
        "there's a fight outside",
        "he hit me and won't let me leave",
        "my boyfriend is threatening me",
        "someone took my child",
    ],
}

# Ordinary messages, many sharing a character or a word with danger.
NEAR_MISSES = [
    "",
    "   ",
    "😀😀😀",
    "🔥🔥🔥",
    "12345",
    "救命",
    "火锅店开在小区门口太吵了",
    "火车票怎么订",
    "最近上火了嗓子疼",
    "我老公天天发火怎么办",
    "这个活动好火爆",
    "漏交物业费有什么后果",
    "我漏交了一个月的水费",
    "困难补助怎么申请",
    "家里有困难能减免物业费吗",
    "好困啊想睡觉",
    "电梯广告费归谁",
    "电梯广告收入应该给业主吗",
    "电梯年检什么时候",
    "电梯坏了",
    "电梯又坏了好几天了没人修",
    "电梯按钮没反应",
    "煤气费怎么交",
    "燃气公司电话是多少",
    "天然气开户要带什么",
    "上次漏水的事法律上怎么说",
    "去年楼上水管爆了淹了我家，物业要赔吗",
    "上次电梯困人的事谁负责",
    "以前着过火的房子能买吗",
    "如果电梯困人应该怎么办",
    "消防演练是几号",
    "消防通道被堵了",
    "楼道里有人抽烟",
    "楼道油烟味太大",
    "厨房水管接头漏水",
    "卫生间水龙头滴水",
    "马桶水箱一直流水",
    "空调外机一直滴水",
    "楼上卫生间一直漏水到我家天花板",
    "水费怎么交",
    "电费卡充值在哪",
    "灭火器过期了",
    "烟花爆竹能放吗",
    "没有着火，是楼下烧烤",
    "电梯停了，里面没人",
    "我家狗咬了邻居的狗谁负责",
    "小区路面结冰有人摔倒了物业要赔吗",
    "车库积水的问题什么时候解决",
    "我的兑换券怎么用",
    "倾听日几号",
    "对门把鞋柜放楼道里了",
    "我家阳台外墙掉瓷砖了",
    "高空抛物砸坏了我的车找谁",
    "师傅来得很快，修得很好",
    "how do I pay the gas bill",
    "the lift is making a strange noise",
    "where is the fire extinguisher",
    "手机没反应了",
    "想报名志愿者巡逻",
    "a" * 4000,
    "水" * 4000,
    # Violence that is over, habitual, or asked about as a rights question: the law answers it.
    "家暴能离婚吗",
    "老公一喝酒就打我 我可以起诉离婚吗 还能要赔偿吗",
    "上个月家里被小偷撬了 物业要不要担责任",
    "去年被抢劫过 能要赔偿吗",
    "孩子在学校跟同学打架了 对方家长要我赔钱",
    "我拿刀切菜",
    "物业把小区的树砍了 能要补偿吗",
    "my husband hits me, can I get a divorce and compensation",
    "how to kill time",
    "群里抢红包",
    "他还在打电话",
    "我家孩子现在还在打游戏",
    "楼下装修一直在砸墙",
    "他跟着我学做饭",
    "他在厨房拿着刀切菜",
    "I tried to get into the app",
    "someone stole my bike",
    "我家小孩拿树枝去捅人家的狗，被咬了一口",
    # From a review: housework, drills, taxis, discounts, calls, jokes, games, kitchens, law questions.
    "我现在在打扫卫生",
    "物业现在在打扫楼道",
    "我现在在打车",
    "一直在打车打不到",
    "现在还在打包",
    "现在在打印",
    "现在在打蜡",
    "现在在打水",
    "楼上一直在打孔",
    "楼上一直在打钻",
    "一直在打电钻",
    "楼上一直在打墙",
    "楼上现在还在打地板",
    "装修现在在打磨",
    "一直在打磨 吵死了",
    "他们现在在打地基",
    "隔壁工地一直在打桩",
    "现在在打折吗",
    "商场现在在打折",
    "超市现在在打八折",
    "孩子现在还在打疫苗",
    "现在在打疫苗吗",
    "现在在打石膏",
    "一直在打哈欠",
    "一直在打呼",
    "一直在打鼾",
    "现在在打太极",
    "老人现在在打太极",
    "现在在打坐",
    "一直在打滚",
    "现在在打地铺",
    "一直在打补丁",
    "现在还在打王者",
    "一直在打广告",
    "群里一直在打广告",
    "一直在打雷打闪",
    "现在还在打雷吗",
    "现在在打官司",
    "一直在打官司",
    "一直在打听",
    "他一直在打扰我",
    "楼上一直在打扰我们休息",
    "我一直在打算换房子",
    "一直在打转",
    "他一直在打量我",
    "现在在打仗吗",
    "他在打我电话",
    "老公一直在打我电话",
    "老公正在打我手机",
    "打死我也不信",
    "打死我也不说",
    "打死我都不去",
    "老板要杀了我",
    "老师要杀了我",
    "老婆要杀了我 我又忘了纪念日",
    "我妈要打死我 哈哈哈",
    "弄死我了 这个题太难",
    "这道题要整死我了",
    "蚊子要弄死我了",
    "我家猫要杀了我",
    "你要杀了我吗",
    "吃鸡里有人要杀我",
    "狼人杀 杀人了",
    "剧本杀里有人持刀",
    "电视剧里有人在砍人",
    "抢劫罪判几年",
    "打劫是什么罪",
    "持刀伤人判几年",
    "小区安全吗 会不会有抢劫",
    "行凶者抓到了吗",
    "家里进小偷了 物业有责任吗",
    "老公拿着菜刀",
    "他拿着刀在做菜",
    "老公拿着刀在砍排骨",
    "男朋友举着刀在拍蒜",
    "邻居拿着刀在院子里杀鸡",
    "邻居拿着斧头劈柴",
    "有人拿着刀在楼下卖西瓜",
    "他握着刀在雕刻",
    "他提着刀去买菜",
    "有人在抢手机",
    "有人在抢我手机里的红包",
    "我正在打孩子",
    "正在打孩子屁股",
    "my boss is going to kill me",
    "my mom is gonna kill me lol",
    "this heat is going to kill me",
    "my son keeps beating me at chess",
    "the kids are beating me at mario kart",
    "we're getting beaten in the match",
    "the rain is hitting my window",
    "the sun is hitting my eyes",
    "my cat is attacking me",
    "there's a guy with a hammer fixing the pipes",
    "a man with a knife is cutting the cake",
    "the chef has a knife",
    "he has a bat for baseball practice",
    "someone is following me on instagram",
    "I'm breaking into the housing market",
    "I tried to break into the industry",
    "I stabbed my finger with a needle",
    "he has a gun toy",
    "砍价",
    "帮我砍一刀",
    "杀价",
    "打折",
    "打车",
    "打卡",
    "打针",
    "抢红包",
    "拿着刀切菜",
    "群里抢红包",
    "他还在打电话",
    "我家孩子现在还在打游戏",
    "楼下装修一直在砸墙",
]


@pytest.mark.parametrize(
    ("kind", "text"), [(kind, text) for kind, texts in POSITIVES.items() for text in texts]
)
def test_danger_is_recognised_with_its_kind(kind: str, text: str) -> None:
    signal = detect_emergency(text)
    assert signal.emergency, text
    assert signal.kind == kind, (text, signal)
    assert 0.5 <= signal.score <= 1.0


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_ordinary_words_raise_no_alarm(text: str) -> None:
    assert detect_emergency(text) == NO_EMERGENCY, text


def test_every_kind_has_examples() -> None:
    assert set(POSITIVES) == set(EMERGENCY_KINDS)


def test_danger_at_the_start_of_a_long_message_is_still_seen() -> None:
    assert detect_emergency("水管爆了 " + "家里" * 2000).kind == "water"


def test_a_past_event_is_an_alarm_again_when_it_is_happening_now() -> None:
    assert not detect_emergency("上次电梯困人的事谁负责").emergency
    assert detect_emergency("上次就困过一次，现在又有人被困在电梯里了").kind == "lift"


def test_a_cry_for_help_without_a_reason_is_a_distress_call_not_an_alarm() -> None:
    for text in ("救命", "救命啊！！", "快来人", "help me!", "SOS"):
        assert not detect_emergency(text).emergency
        assert is_distress_call(text), text
    for text in ("火锅", "", "😀", "帮我查一下积分", "helpful neighbours", "help", "/help"):
        assert not is_distress_call(text), text


def test_none_is_no_emergency() -> None:
    assert detect_emergency(None) == NO_EMERGENCY


def test_detection_is_fast_enough_to_run_on_every_message() -> None:
    texts = [t for ts in POSITIVES.values() for t in ts] + NEAR_MISSES
    detect_emergency("预热")
    started = time.perf_counter()
    for text in texts:
        detect_emergency(text)
    per_message = (time.perf_counter() - started) / len(texts)
    assert per_message < 0.02  # generous; the bench measures it properly


def test_the_law_questions_residents_ask_almost_never_raise_an_alarm() -> None:
    """Every question of the Civil Code FAQ is a near-miss ("邻居电动车起火烧坏了我家门谁赔"): past damage,
    money, responsibility. A few that describe live danger ("邻居家燃气味很重怎么办") may alarm."""
    from knowledge.corpus import load_corpus

    questions = [q for entry in load_corpus().entries for q in entry.questions]
    alarms = [q for q in questions if detect_emergency(q).emergency]
    assert len(questions) > 500
    assert len(alarms) / len(questions) <= 0.01, alarms


def test_a_smell_of_smoke_is_an_urgent_repair_but_smoke_is_an_emergency() -> None:
    assert not detect_emergency("电表箱冒烟味").emergency
    assert detect_emergency("电表箱冒烟了").kind == "electric"


def _labelled(name: str) -> list[tuple[str, str]]:
    from pathlib import Path

    path = Path(__file__).parents[1] / "data" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        (label, text) for label, text in (line.split("\t", 1) for line in lines if line and line[0] != "#")
    ]


@pytest.mark.parametrize(
    "name",
    [
        "emergency_tuning.tsv",
        "emergency_tuning_2.tsv",
        "emergency_tuning_3.tsv",
        "emergency_tuning_4.tsv",
        "emergency_tuning_5.tsv",
        "emergency_tuning_6.tsv",
        "emergency_tuning_7.tsv",
        "emergency_fresh.tsv",
        "emergency_violence_tuning.tsv",
    ],
)
def test_the_later_tuning_sets_are_labelled_right(name: str) -> None:
    """Each was first measured once as a fresh set (figures in the README); then its misses were fixed."""
    wrong = [
        (label, text) for label, text in _labelled(name) if (detect_emergency(text).kind or "none") != label
    ]
    assert wrong == []


def test_the_blind_set_is_labelled_right() -> None:
    """Written by another person without seeing the detector (text TAB kind, "-" for none); measured once on
    arrival (README), then its misses were fixed."""
    from pathlib import Path

    path = Path(__file__).parents[1] / "data" / "emergency_tuning_blind.tsv"
    rows = [
        line.rsplit("\t", 1)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and line[0] != "#"
    ]
    wrong = [(text, kind) for text, kind in rows if (detect_emergency(text).kind or "-") != kind]
    assert len(rows) > 350
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("help!! 电梯stuck了 在B座 我在里面", "lift"),  # English inside Chinese
        ("socket在冒spark 噼啪响", "electric"),
        ("pipe爆了 water到处都是 快来", "water"),
        ("dianti kun ren le 3 dong kuai lai", "lift"),  # pinyin
        ("zhao huo le kuai lai", "fire"),
        ("着活了 3栋5楼", "fire"),  # homophone typo
        ("电题困人了", "lift"),
        ("俺家淹咧", "water"),  # dialect
        ("我妈抽过去了", "medical"),
        ("闻到一股臭鸡蛋味", "gas"),  # indirect
        ("插座噼里啪啦响还冒光", "electric"),
        ("水从天花板哗哗往下流", "water"),
        ("电梯卡在两层中间 里面有人喊", "lift"),
        ("我在电梯里 灯都灭了 一动不动", "lift"),  # stuck, not unconscious
        ("有人触电倒地了", "electric"),  # the cause decides the advice: cut the power first
        ("水漫到插座那了 插座还通着电", "electric"),
        ("我爷爷突然说不出话 嘴歪了", "medical"),  # stroke
        ("孩子误喝了消毒水", "medical"),  # poisoning
        ("我老伴刚才突然从椅子上滑下去了 怎么叫都不答应", "medical"),
        ("my baby is choking", "medical"),
        ("着火了 要是烧到我家怎么办", "fire"),  # the condition comes after the danger: not a what-if
        ("煤气泄漏了 万一爆炸怎么办", "gas"),
        ("昨天修好的水管又爆了 家里全是水", "water"),  # it happens again now
        ("以前从没见过这么大的烟 楼下着火了", "fire"),
    ],
)
def test_how_people_really_say_it(text: str, kind: str) -> None:
    assert detect_emergency(text).kind == kind, text


@pytest.mark.parametrize(
    "text",
    [
        "消防演练冒烟是假的别慌",  # the guard blanks 消防演练, yet the drill is the context
        "我妈上周晕倒住院了 现在出院了 想申请困难补助",  # "现在" tells the aftermath, not the danger
        "前天着火那家现在怎么样了",
        "热得我快晕倒了 空调能修吗",
        "煤气罐没气了 换一罐",
        "家里的猫吃了老鼠药",
        "燃气灶火苗是黄的",
        "燃气报警器一直滴滴响是不是没电了",
        "what should I do if someone gets stuck in the lift",
        "where can I buy a fire extinguisher",
        "电梯门关不严，老是夹人",
        "水管爆裂险",
        "老人倒了杯水",
        "如果着火了怎么办",  # the condition comes before the danger: a what-if
        "要是电梯困人了打哪个电话",
    ],
)
def test_more_ordinary_messages_raise_no_alarm(text: str) -> None:
    assert detect_emergency(text) == NO_EMERGENCY, text


def test_a_question_about_rights_or_money_is_told_from_a_repair_request() -> None:
    for text in ("高空抛物砸坏了我的车找谁", "楼上漏水泡坏了我家地板谁来赔", "物业不修电梯犯法吗"):
        assert is_rights_question(text), text
    for text in ("电梯坏了找谁修", "厨房水管漏水", "嗯嗯", "", "我有多少积分"):
        assert not is_rights_question(text), text


def test_the_second_violence_blind_set_does_not_get_worse() -> None:
    """Measured once before anyone read it (44 of 70 found, 41 as violence, 1 false alarm of 70); a floor, not
    a target: its misses were never read, so it stays a fair check of later changes."""
    rows = _labelled("emergency_violence_blind_2.tsv")
    found = [detect_emergency(text) for label, text in rows if label == "violence"]
    false_alarms = [text for label, text in rows if label == "none" and detect_emergency(text).emergency]
    assert sum(s.emergency for s in found) >= 44
    assert sum(s.kind == "violence" for s in found) >= 41
    assert len(false_alarms) <= 1
