"""Ruleset texts shared by the dsl tests: small, and one that uses every construct."""

from __future__ import annotations

HEADER = 'ruleset "t" {\n}\n'

TIERS = """\
tier normal  "普通会员" points x1.0
tier gold    "金卡"     points x1.5  upgrade when lifetime_spend >= 7000.00 or day_spend >= 5000
tier diamond "钻石卡"   points x3.0  upgrade when lifetime_spend >= 16000.00
"""


def ruleset(body: str, tiers: bool = True) -> str:
    """A header, the three tiers, then ``body``."""
    return HEADER + (TIERS if tiers else "") + body


# Every construct of docs/LANGUAGE.md, with comments in every position a merchandiser puts them.
RICH = """\
# 如意健康 membership programme
# (hand arithmetic lives in comments like this one)

ruleset "ruyi-health" {
  currency CNY
  timezone "Asia/Shanghai"
  points per_yuan 1, rounding floor, multipliers multiply
  redeem 50 points per_yuan, cap 50%, applies_to item.category != "gift_card"  # 50 points = 1 yuan
  inactivity 730 days downgrade
  points_expire 730 days
}

tier normal  "普通会员" points x1.0
tier gold    "金卡"     points x1.5  upgrade when lifetime_spend >= 7000.00 or day_spend >= 5000.00
tier diamond "钻石卡"   points x3.0  upgrade when lifetime_spend >= 16000.00

rule member_day "会员日 多倍积分" {
  priority 10                      # higher runs first
  group "points_days"
  valid 2026-01-01 to 2026-12-31
  valid on thu, 周六
  valid hours 10:00 to 24:00
  when day_of_month = 15
  then points x2
}

rule birthday "生日 双倍积分" {
  group "points_days"
  when today is member.birthday
  then points x2
}

rule a_class "A类商品 金卡及以上 9.5折" {
  exclusive
  # 100.00 x 5% = 5.00
  when item.category = "A" and
       member.tier >= gold
  then item discount 9.5折
}

rule fixed "每件减3元" {
  priority -5
  when item.tags has "promo" and not (item.brand in ["x", "y"] or item.price < 10)
  then item discount 3 each
}

rule member_price "会员价" {
  when item.sku = "SKU-1" and member.tier > normal
  then item price 59
}

rule food_100_20 "食品 满100减20" {
  valid 2026-11-01 to 2026-12-31
  when subtotal(item.category = "food") >= 100 and count() >= 2
  then basket discount 20 over item.category = "food"
}

rule ladder "满100减20 满200减50" {
  then basket discount steps 100.00 -> 20.00, 200.00 -> 50.00 over item.category in ["a", "b"]
}

rule every "每满100减20" {
  when weekday in [sat, sun] or month is member.birthday
  then basket discount 20.00 every 100.00 max 3 times
}

rule first_big "首单 原价满500减50" {
  when member.first_purchase and gross() >= 500 and gross(item.quantity >= 1.5) >= 100
  then basket discount 50
}

rule bonus "新品 100积分" {
  when basket.store = "S001" and quantity(item.tags has "new") >= 2
  then bonus 100 points over item.tags has "new"
}

# a department store's card-type x category table
table card_rates "卡种品类折扣" {
  priority 5
  by member.tier, item.category
  columns          normal   gold    diamond
  "化妆品"         9.8折    9.5折   9.0折
  "服装"           9.5折    9%      8.5折
  "家电"           -        9.8折   9.5折      # - : no discount
}

no_points when item.category in ["tobacco", "gift_card"]

coupon C20 "积分兑换 20元折扣券" {
  value 20.00, min_spend 100.00, applies_to item.category != "tobacco"
  valid 2026-11-01 to 2026-12-31
  members_only
  redeem_for 199 points
}

coupon C30 "30元券" {
  value 30, min_spend 300
}

coupon BACK "回归 9折 最高50元" {
  value 10%, max 50
  when member.days_since_last_purchase >= 48 and member.lifetime_spend >= 1000   # history
}

example "金卡会员 会员日 买A类商品" {
  # 100.00 - 5% = 95.00; points 95 x 1.5 x 2 = 285
  member tier gold, birthday 1990-03-02, tags ["vip"], segment "important", joined 2020-01-01, balance 500,
    last_purchase 2026-09-01, orders 3, lifetime_spend 1200
  at 2026-11-15 10:00
  store "S001"
  channel "pos"
  line "洗发水" category "A" price 100.00 qty 1 tax 13%
  line "苹果" sku "P1" category "fruit" brand "x" tags ["fresh"] price 12.80 qty 1.250 tax 9%
  coupon C20
  redeem 500 points
  expect payable 95.00, points 285, discount 5.00
  expect rule a_class 5.00, coupon C20 accepted, coupon C30 rejected min_spend, redeemed 500
  expect line 2 points 24 net 16.00, line 1 net 95.00 discount 5.00  # per line, any order
}

example "散客" {
  member guest
  at 2026-11-16 09:30
  line "可乐" price 3.50 qty 2 tax exempt
  expect payable 7.00
}

# end of file: nothing after this comment
"""

RICH_COMMENTS = [line.split("#", 1)[1] for line in RICH.splitlines() if "#" in line]
