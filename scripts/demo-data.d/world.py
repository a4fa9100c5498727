"""world -- the demo world that scripts/demo-data loads: the forum, the
moderators (industrial-promotion centres), the craft villages with their
needs and the suppliers with their offers. Data only, no I/O.

Listings are written with need() and offer(); "days", "from_days" and
"until_days" count from the day of the load (in Vietnam), "key" is stable and
names the listing in its Idempotency-Key.
"""

FORUM = "dien-dan-cung-cau-ha-noi-2026"

# ---------------------------------------------------------------------------
# The demo world
# ---------------------------------------------------------------------------

# Moderators: the provincial industrial-promotion centres that organise the
# supply-demand forums. The admin registers them.
MODERATORS = [
    {"slug": "kc-ha-noi",
     "name": "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp Hà Nội",
     "province": "Hà Nội", "commune": "Cầu Giấy",
     "scope": {"provinces": ["Hà Nội"], "forums": [FORUM]}},
    {"slug": "kc-bac-ninh",
     "name": "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp Bắc Ninh",
     "province": "Bắc Ninh", "commune": "Bắc Giang",
     "scope": {"provinces": ["Bắc Ninh"], "forums": [FORUM]}},
    {"slug": "kc-ninh-binh",
     "name": "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp Ninh Bình",
     "province": "Ninh Bình", "commune": "Hoa Lư",
     "scope": {"provinces": ["Ninh Bình"]}},
]


def need(key, material, grade, quantity, unit, price_vnd, price_unit, days, note, **extra):
    d = {"key": key, "kind": "need", "material": material, "quantity": quantity, "unit": unit,
         "days": days, "note": note}
    if grade:
        d["grade"] = grade
    if price_vnd:
        d["price_vnd"], d["price_unit"] = price_vnd, price_unit
    d.update(extra)
    return d


def offer(key, material, grade, quantity, unit, price_vnd, price_unit, min_order, until_days,
          note, **extra):
    d = {"key": key, "kind": "offer", "material": material, "grade": grade,
         "quantity": quantity, "unit": unit, "price_vnd": price_vnd, "price_unit": price_unit,
         "until_days": until_days, "note": note}
    if min_order:
        d["min_order"] = min_order
    d.update(extra)
    return d


# Craft villages (cooperatives and workshops) and what they need. "by" is
# who registers them: the centre of their province.
VILLAGES = [
    {"slug": "bat-trang", "name": "Hợp tác xã Gốm sứ Bát Tràng", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Bát Tràng (Gia Lâm)", "location": (20.9755, 105.9116),
     "listings": [
         need("cao-lanh", "kaolin", "B", "40", "tấn", 2400000, "tấn", 21,
              "Cao lanh làm xương gốm, độ trắng từ 80%, giao tận bãi tại Bát Tràng",
              accept_substitutes=True, max_distance_km=400, forum=FORUM),
         need("dat-set", "clay", "A", "120", "tấn", 950000, "tấn", 30,
              "Đất sét dẻo làm gốm, độ ẩm dưới 20%, giao từng đợt 20 tấn",
              max_distance_km=250, forum=FORUM),
         need("trang-thach", "feldspar", "B", "15", "tấn", 1500000, "tấn", 35,
              "Tràng thạch nghiền mịn để pha men rạn"),
         need("tro-men", "glaze_ash", "A", "800", "kg", 12000, "kg", 28,
              "Tro trấu, tro củi làm men tro truyền thống"),
     ]},
    {"slug": "van-phuc", "name": "Hợp tác xã Dệt lụa Vạn Phúc", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Vạn Phúc (Hà Đông)", "location": (20.9797, 105.7720),
     "listings": [
         need("to-moc", "silk_yarn", "3A", "300", "kg", 1450000, "kg", 25,
              "Tơ tằm mộc dệt lụa truyền thống, sợi đều, không xơ", forum=FORUM),
         need("to-se", "silk_yarn", "5A", "80", "kg", 1750000, "kg", 40,
              "Tơ se dệt gấm, dệt vân cao cấp cho đơn hàng Tết"),
     ]},
    {"slug": "phu-vinh", "name": "Hợp tác xã Mây tre đan Phú Vinh", "by": "kc-ha-noi",
     # The old province name on purpose: Hà Tây was merged into Hà Nội in 2008.
     "province": "Hà Tây", "commune": "Phú Nghĩa (Chương Mỹ)",
     "location": (20.8850, 105.6540),
     "listings": [
         need("may-soi", "rattan", "A", "20", "tấn", 42000, "kg", 30,
              "Mây sợi chẻ sẵn, phơi khô, đan hàng xuất khẩu", max_distance_km=600,
              forum=FORUM),
         need("giang", "bamboo_giang", "B", "5000", "cây", 18000, "cây", 20,
              "Giang đã ngâm, dài 6–8 m, đan giỏ và khay"),
         need("co-te", "co_te", "B", "2", "tấn", 25000, "kg", 45,
              "Cỏ tế phơi khô làm cốt đan lẵng hoa"),
     ]},
    {"slug": "ha-thai", "name": "Hợp tác xã Sơn mài Hạ Thái", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Duyên Thái (Thường Tín)", "location": (20.8690, 105.8660),
     "listings": [
         need("son-ta", "lacquer_resin", "A", "600", "kg", 420000, "kg", 30,
              "Sơn ta Phú Thọ nguyên chất, đã lọc, đựng thùng kín", forum=FORUM),
         need("vo-trung", "eggshell", "A", "150", "kg", 35000, "kg", 21,
              "Vỏ trứng vịt đã làm sạch, bóc màng, phơi khô để cẩn tranh"),
         need("vang-quy", "gold_leaf", "A", "5000", "lá", 9500, "lá", 35,
              "Vàng quỳ thếp tranh sơn mài, khổ 9x9 cm"),
     ]},
    {"slug": "chuyen-my", "name": "Hợp tác xã Khảm trai Chuyên Mỹ", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Chuyên Mỹ (Phú Xuyên)", "location": (20.7230, 105.9000),
     "listings": [
         need("oc-xa-cu", "shell_turbo", "A", "500", "kg", 140000, "kg", 30,
              "Vỏ ốc xà cừ dày, ánh ngũ sắc, để cắt mảnh khảm",
              accept_substitutes=True),
         need("bao-ngu", "shell_abalone", "A", "120", "kg", 450000, "kg", 45,
              "Vỏ bào ngư nguyên con làm tranh khảm cao cấp"),
     ]},
    {"slug": "thuy-ung", "name": "Cơ sở Sừng mỹ nghệ Thụy Ứng", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Thụy Ứng, Hòa Bình (Thường Tín)",
     "listings": [
         need("sung-trau", "buffalo_horn", "A", "400", "kg", 95000, "kg", 30,
              "Sừng trâu đặc, đen bóng, làm lược và đồ mỹ nghệ"),
     ]},
    {"slug": "quang-phu-cau", "name": "Hợp tác xã Hương Quảng Phú Cầu", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Quảng Phú Cầu (Ứng Hòa)",
     "listings": [
         need("tam-huong", "incense_sticks", "B", "10", "tấn", 22000, "kg", 14,
              "Tăm hương tre vót sẵn, dài 30–40 cm, để nhuộm chân đỏ"),
         need("bot-huong", "incense_powder", "A", "3", "tấn", 30000, "kg", 21,
              "Bột hương bài, bột quế làm hương thơm"),
     ]},
    {"slug": "chuong", "name": "Hợp tác xã Nón lá làng Chuông", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Phương Trung (Thanh Oai)",
     "listings": [
         need("la-non", "palm_leaf", "A", "1.5", "tấn", 65000, "kg", 20,
              "Lá nón non, phơi sương trắng đều, không rách"),
     ]},
    {"slug": "dong-ky", "name": "Hợp tác xã Đồ gỗ mỹ nghệ Đồng Kỵ", "by": "kc-bac-ninh",
     "province": "Bắc Ninh", "commune": "Đồng Kỵ (Từ Sơn)", "location": (21.1390, 105.9500),
     "listings": [
         need("go-huong", "timber_go_huong", "A", "25", "m³", 32000000, "m³", 30,
              "Gỗ hương xẻ hộp, có hồ sơ nguồn gốc hợp pháp (CITES nếu nhập khẩu)",
              forum=FORUM),
         need("go-gu", "timber_go_gu", "B", "15", "m³", 28000000, "m³", 45,
              "Gỗ gụ xẻ ván dày 5 cm làm sập, tủ chè"),
     ]},
    {"slug": "dong-ho", "name": "Hợp tác xã Tranh dân gian Đông Hồ", "by": "kc-bac-ninh",
     "province": "Bắc Ninh", "commune": "Song Hồ (Thuận Thành)",
     "listings": [
         need("giay-do", "do_paper", "A", "20000", "tờ", 4500, "tờ", 30,
              "Giấy dó khổ 30x40 cm để quét điệp, in tranh Tết"),
         need("vo-diep", "shell_scallop", "B", "500", "kg", 12000, "kg", 40,
              "Vỏ điệp nung nghiền làm hồ điệp"),
     ]},
    {"slug": "dai-bai", "name": "Hợp tác xã Đúc đồng Đại Bái", "by": "kc-bac-ninh",
     "province": "Bắc Ninh", "commune": "Đại Bái (Gia Bình)",
     "listings": [
         need("dong-do", "copper", "A", "2", "tấn", 245000, "kg", 21,
              "Đồng đỏ thỏi hoặc dây sạch, đúc tượng và đồ thờ"),
         need("thiec", "tin", "B", "200", "kg", 820000, "kg", 30,
              "Thiếc thỏi pha đồng đúc chuông"),
     ]},
    {"slug": "kim-son", "name": "Hợp tác xã Thủ công mỹ nghệ cói Kim Sơn", "by": "kc-ninh-binh",
     "province": "Ninh Bình", "commune": "Kim Sơn", "location": (20.0500, 106.0900),
     "listings": [
         need("coi", "sedge", "A", "30", "tấn", 16000, "kg", 20,
              "Cói chẻ phơi khô, sợi dài trên 1,2 m, dệt chiếu và túi xuất khẩu",
              accept_substitutes=True),
     ]},
]

# Suppliers and what they offer. Old province names are used where the
# suppliers still write them (Hải Dương, Yên Bái, Thái Bình, Hà Nam).
SUPPLIERS = [
    {"slug": "cao-lanh-truc-thon", "name": "Công ty TNHH Cao lanh Trúc Thôn", "by": "admin",
     "province": "Hải Dương", "commune": "Chí Linh",
     "listings": [
         offer("cao-lanh-a", "kaolin", "A", "500", "tấn", 2100000, "tấn", "10", 90,
               "Cao lanh lọc Trúc Thôn, độ trắng 82–85%, đã giao nhiều lò ở Bát Tràng",
               forum=FORUM),
         offer("dat-set-trang", "white_clay", "A", "300", "tấn", 1600000, "tấn", "10", 90,
               "Đất sét trắng Trúc Thôn, độ dẻo cao, hợp làm gốm men trắng"),
     ]},
    {"slug": "dat-set-dong-trieu", "name": "Công ty CP Gốm và Đất sét Đông Triều",
     "by": "admin", "province": "Quảng Ninh", "commune": "Đông Triều",
     "listings": [
         offer("dat-set", "clay", "A", "2000", "tấn", 850000, "tấn", "20", 60,
               "Đất sét Đông Triều đã phơi ủ, giao bằng xe 20 tấn"),
         offer("cao-lanh-tho", "kaolin", "B", "400", "tấn", 1750000, "tấn", "10", 60,
               "Cao lanh thô Quảng Ninh, phù hợp làm xương gốm"),
     ]},
    {"slug": "vo-diep-van-don", "name": "Cơ sở Vỏ điệp Vân Đồn", "by": "admin",
     "province": "Quảng Ninh", "commune": "Vân Đồn",
     "listings": [
         offer("vo-diep", "shell_scallop", "A", "3", "tấn", 10000, "kg", "0.2", 60,
               "Vỏ điệp biển đã nung, nghiền mịn theo yêu cầu"),
     ]},
    {"slug": "khoang-san-phu-tho", "name": "Công ty CP Khoáng sản Phú Thọ", "by": "admin",
     "province": "Phú Thọ", "commune": "Thanh Sơn",
     "listings": [
         offer("trang-thach", "feldspar", "A", "800", "tấn", 1350000, "tấn", "5", 75,
               "Tràng thạch kali nghiền 200 mesh, đóng bao 50 kg"),
     ]},
    {"slug": "son-ta-tam-nong", "name": "Hợp tác xã Sơn ta Tam Nông", "by": "admin",
     "province": "Phú Thọ", "commune": "Tam Nông",
     "listings": [
         offer("son-ta-a", "lacquer_resin", "A", "1.2", "tấn", 400000, "kg", "0.05", 60,
               "Nhựa sơn ta Tam Nông vụ thu, đã lọc sạch, đựng thùng kín", forum=FORUM),
         offer("son-ta-b", "lacquer_resin", "B", "800", "kg", 320000, "kg", "20", 60,
               "Sơn ta loại hai dùng làm lớp lót, giá tốt"),
     ]},
    {"slug": "to-tam-tran-yen", "name": "Hợp tác xã Dâu tằm tơ Trấn Yên", "by": "admin",
     "province": "Yên Bái", "commune": "Trấn Yên",
     "listings": [
         offer("to-3a", "silk_yarn", "3A", "400", "kg", 1380000, "kg", "20", 45,
               "Tơ tằm ươm máy, sợi đều, đóng bó 1 kg", forum=FORUM),
         offer("ken", "cocoons", "A", "2", "tấn", 185000, "kg", "0.1", 20,
               "Kén tằm lưỡng hệ tươi, thu mua tận hộ"),
     ]},
    {"slug": "to-lua-bao-loc", "name": "Công ty TNHH Tơ lụa Bảo Lộc", "by": "admin",
     "province": "Lâm Đồng", "commune": "Bảo Lộc",
     "listings": [
         offer("to-5a", "silk_yarn", "5A", "250", "kg", 1720000, "kg", "10", 60,
               "Tơ tằm Bảo Lộc ươm tự động, đạt cấp 5A"),
         offer("to-4a", "silk_yarn", "4A", "600", "kg", 1550000, "kg", "20", 60,
               "Tơ tằm 4A, giao hàng ra Hà Nội hằng tuần"),
     ]},
    {"slug": "may-tre-chiem-hoa", "name": "Công ty TNHH Mây tre Chiêm Hóa", "by": "admin",
     "province": "Tuyên Quang", "commune": "Chiêm Hóa",
     "listings": [
         offer("may-nep", "rattan", "A", "60", "tấn", 38000, "kg", "2", 45,
               "Mây nếp rừng Tuyên Quang, đã phơi khô, bó 50 kg"),
         offer("giang", "bamboo_giang", "A", "20000", "cây", 16000, "cây", "1000", 60,
               "Giang rừng vùng Hà Giang cũ, cây dài 7–9 m"),
     ]},
    {"slug": "may-luong-quan-hoa", "name": "Hợp tác xã Mây luồng Quan Hóa", "by": "admin",
     "province": "Thanh Hóa", "commune": "Quan Hóa",
     "listings": [
         offer("may-soi", "rattan", "B", "40", "tấn", 33000, "kg", "1", 50,
               "Mây sợi Thanh Hóa loại hai, chẻ theo yêu cầu"),
         offer("luong", "bamboo_luong", "A", "10000", "cây", 45000, "cây", "500", 60,
               "Luồng Thanh Hóa ba năm tuổi, đã ngâm chống mọt"),
     ]},
    {"slug": "coi-kim-dong", "name": "Hợp tác xã Nông nghiệp Kim Đông", "by": "kc-ninh-binh",
     "province": "Ninh Bình", "commune": "Kim Đông (Kim Sơn)",
     "listings": [
         offer("coi-a", "sedge", "A", "80", "tấn", 14500, "kg", "2", 40,
               "Cói bãi bồi Kim Sơn, chẻ đôi phơi khô, vụ chiêm"),
     ]},
    {"slug": "coi-dong-minh", "name": "Hợp tác xã Cói Đông Minh", "by": "admin",
     "province": "Thái Bình", "commune": "Đông Minh (Tiền Hải)",
     "listings": [
         offer("coi-b", "sedge", "B", "50", "tấn", 12000, "kg", "5", 45,
               "Cói Thái Bình sợi trung, giá tốt cho hàng đan"),
     ]},
    {"slug": "vo-trai-ha-nam", "name": "Cơ sở Thu mua vỏ trai Hà Nam", "by": "kc-ninh-binh",
     "province": "Hà Nam", "commune": "Phủ Lý",
     "listings": [
         offer("vo-trai", "shell_mussel", "A", "2", "tấn", 18000, "kg", "0.2", 50,
               "Vỏ trai sông đã mài lớp ngoài, dùng để khảm"),
     ]},
    {"slug": "lam-san-nghe-an", "name": "Công ty CP Lâm sản Nghệ An", "by": "admin",
     "province": "Nghệ An", "commune": "Con Cuông",
     "listings": [
         offer("go-xoan", "timber_go_xoan", "A", "120", "m³", 6500000, "m³", "5", 75,
               "Gỗ xoan rừng trồng xẻ hộp, có hồ sơ lâm sản hợp pháp"),
         offer("go-mit", "timber_go_mit", "B", "40", "m³", 9500000, "m³", "2", 75,
               "Gỗ mít để tạc tượng, đã sấy khô"),
     ]},
    {"slug": "la-non-quy-chau", "name": "Hợp tác xã Lá nón Quỳ Châu", "by": "admin",
     "province": "Nghệ An", "commune": "Quỳ Châu",
     "listings": [
         offer("la-non", "palm_leaf", "A", "3", "tấn", 60000, "kg", "0.1", 40,
               "Lá nón rừng đã sấy, phơi trắng, bó 100 lá"),
     ]},
    {"slug": "go-dinh-bang", "name": "Công ty TNHH Gỗ nhập khẩu Đình Bảng", "by": "kc-bac-ninh",
     "province": "Bắc Ninh", "commune": "Đình Bảng (Từ Sơn)",
     "listings": [
         offer("go-huong", "timber_go_huong", "A", "60", "m³", 30500000, "m³", "2", 60,
               "Gỗ hương nhập khẩu xẻ hộp, đủ hồ sơ CITES và hải quan", forum=FORUM),
         offer("go-gu", "timber_go_gu", "A", "25", "m³", 27000000, "m³", "1", 60,
               "Gỗ gụ nhập khẩu, ván dày 5–7 cm"),
     ]},
    {"slug": "kim-loai-van-mon", "name": "Công ty TNHH Kim loại màu Văn Môn",
     "by": "kc-bac-ninh", "province": "Bắc Ninh", "commune": "Văn Môn (Yên Phong)",
     "listings": [
         offer("dong-do", "copper", "A", "10", "tấn", 238000, "kg", "0.2", 30,
               "Đồng đỏ thỏi 99,9%, có hóa đơn"),
         offer("thiec", "tin", "A", "1", "tấn", 790000, "kg", "0.05", 30,
               "Thiếc thỏi 99,9%, đóng thùng 25 kg"),
     ]},
    {"slug": "giay-do-duong-o", "name": "Hợp tác xã Giấy dó Dương Ổ", "by": "kc-bac-ninh",
     "province": "Bắc Ninh", "commune": "Phong Khê",
     "listings": [
         offer("giay-do", "do_paper", "A", "50000", "tờ", 4200, "tờ", "1000", 60,
               "Giấy dó xeo tay khổ 30x40 cm, dai, không nhòe mực"),
     ]},
    {"slug": "vo-trung-van-dinh", "name": "Cơ sở Vỏ trứng Vân Đình", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Vân Đình (Ứng Hòa)",
     "listings": [
         offer("vo-trung", "eggshell", "A", "400", "kg", 30000, "kg", "20", 45,
               "Vỏ trứng vịt sạch màng, phơi khô, đóng bao 25 kg"),
     ]},
    {"slug": "quy-kieu-ky", "name": "Cơ sở Vàng bạc quỳ Kiêu Kỵ", "by": "kc-ha-noi",
     "province": "Hà Nội", "commune": "Kiêu Kỵ (Gia Lâm)",
     "listings": [
         offer("vang-quy", "gold_leaf", "A", "30000", "lá", 9000, "lá", "500", 60,
               "Vàng quỳ Kiêu Kỵ dát thủ công, khổ 9x9 cm"),
         offer("bac-quy", "silver_leaf", "A", "50000", "lá", 1200, "lá", "1000", 60,
               "Bạc quỳ dát thủ công để thếp sơn mài"),
     ]},
    {"slug": "sung-trau-tho-xuan", "name": "Công ty TNHH Sừng trâu Thọ Xuân", "by": "admin",
     "province": "Thanh Hóa", "commune": "Thọ Xuân",
     "listings": [
         offer("sung-trau", "buffalo_horn", "A", "1", "tấn", 90000, "kg", "0.05", 60,
               "Sừng trâu đặc ruột, đã phân loại theo độ dài"),
     ]},
    {"slug": "vo-oc-nha-trang", "name": "Công ty TNHH Vỏ ốc mỹ nghệ Nha Trang", "by": "admin",
     "province": "Khánh Hòa", "commune": "Nha Trang",
     "listings": [
         offer("oc-xa-cu", "shell_turbo", "A", "1.5", "tấn", 125000, "kg", "0.1", 60,
               "Vỏ ốc xà cừ Khánh Hòa đã làm sạch, phân loại theo độ dày"),
         offer("bao-ngu", "shell_abalone", "B", "300", "kg", 380000, "kg", "20", 60,
               "Vỏ bào ngư loại hai, vân đẹp"),
     ]},
    {"slug": "tam-huong-binh-gia", "name": "Hợp tác xã Tăm hương Bình Gia", "by": "admin",
     "province": "Lạng Sơn", "commune": "Bình Gia",
     "listings": [
         offer("tam-huong", "incense_sticks", "A", "25", "tấn", 20000, "kg", "1", 45,
               "Tăm hương tre vót máy, thẳng, đã phơi khô"),
         offer("bot-boi-loi", "incense_powder", "B", "10", "tấn", 26000, "kg", "0.5", 45,
               "Bột bời lời làm keo kết dính hương"),
     ]},
]
