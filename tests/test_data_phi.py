"""PHI scrubber: identifiers that must go, clinical text that must stay, the labelled sets' figures,
properties that hold for any text, and the CLI."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medassist.data.phi import find_phi, scrub, scrub_with_counts
from medassist.data.phi_eval import clinical_text_lost, load_labelled, parse_line, score
from medassist.errors import MedassistError

FIXTURES = Path(__file__).parent / "fixtures"
LABELLED = FIXTURES / "phi_labelled.txt"
HELDOUT = FIXTURES / "phi_heldout.txt"


@pytest.mark.parametrize(("text", "expected"), [
    ("Write to jane.doe+clinic@hospital.org today", "Write to [EMAIL] today"),
    ("see https://portal.example.com/p?id=1&u=a@b.c", "see [URL]"),
    ("Call 555-123-4567 or (020) 7946 0958", "Call [PHONE] or [PHONE]"),
    ("mobile +44 7700 900123", "mobile [PHONE]"),
    ("MRN: 00123456 admitted", "MRN: [ID] admitted"),
    ("SSN 123-45-6789", "SSN [ID]"),
    ("Medicare number 1EG4-TE5-MK73", "Medicare number [ID]"),
    ("Pacemaker serial number PZK812734H", "Pacemaker serial number [ID]"),
    ("Seen 12/03/2024, again 2024-03-19", "Seen [DATE], again [DATE]"),
    ("DOB: 15-Mar-1961", "DOB: [DATE]"),
    ("symptoms since March 2023", "symptoms since [DATE]"),
    ("A 92-year-old woman", "A [AGE]-year-old woman"),
    ("Dr. Gregory House and Mrs Smith", "Dr. [NAME] and Mrs [NAME]"),
    ("pt james miller c/o SOB", "pt [NAME] c/o SOB"),
    ("Maria Gonzalez presented with pain", "[NAME] presented with pain"),
    ("Lives at 42 Elm Street, Springfield, IL 62704.", "Lives at [ADDRESS]."),
    ("Postcode M1 1AE", "Postcode [ADDRESS]"),
    ("电话13812345678，请回电", "电话[PHONE]，请回电"),
    ("身份证号110105196103150021", "身份证号[ID]"),
    ("患者张伟，男，58岁", "患者[NAME]，男，58岁"),
    ("陈医生建议复查", "[NAME]医生建议复查"),
    ("2024年3月15日入院", "[DATE]入院"),
    ("患者92岁", "患者[AGE]岁"),
    ("住址：北京市朝阳区建国路88号。", "住址：[ADDRESS]。"),
    # an address found in pieces is one address: building, street, town, code
    ("Sent from Oakfield Lodge, 7 Mill Street, Ludlow SY8 1BB today", "Sent from [ADDRESS] today"),
    ("moved to 9 Birch Avenue, Halifax, NS B3H 2Y9.", "moved to [ADDRESS]."),
    ("of Dromore, Co. Sligo, F91 X2P4, a farmer", "of [ADDRESS], a farmer"),
    ("lives at Unit 3, 40 Beach Road, Coogee NSW 2034.", "lives at [ADDRESS]."),
    ("wohnt Kastanienallee 12, 10119 Berlin.", "wohnt [ADDRESS]."),
    ("家住香港九龍深水埗荔枝角道201號5樓C室。", "家住[ADDRESS]。"),
    ("住在成都市武侯区科华北路六段8号附3号2单元502", "住在[ADDRESS]"),
    # the clock time goes with its date; ages in words, in brackets, after "he is"
    ("seen 03/02/2026 14:35 in resus", "seen [DATE] in resus"),
    ("on the 2nd of april and 5-9 June 2025", "on [DATE] and [DATE]"),
    ("2026年1月9日 08:15入院", "[DATE]入院"),
    ("婆婆九十六岁了", "婆婆[AGE]岁了"),
    ("Edith Marsh (94) lives alone; her dad is 101.", "[NAME] ([AGE]) lives alone; her dad is [AGE]."),
    # record numbers of other shapes
    ("specimen HX25-118204 received", "specimen [ID] received"),
    ("HKID A123456(7), DNI 12345678Z", "HKID [ID], DNI [ID]"),
    ("policy KLM-22-55018 and 体检号TJ2026-0311", "policy [ID] and 体检号[ID]"),
    # dates with their weekday and clock, in words, lower case, Chinese numerals, Minguo years
    ("clinic Wed 14/10/2026, bloods weds 3rd, review Tuesday 09/06", "clinic [DATE], bloods [DATE], review [DATE]"),
    ("scan 2027-01-04T08:30Z and call 4/7/2027 10:05 PM EST", "scan [DATE] and call [DATE]"),
    ("last seen at 18:45 on 21/09/2026 by the team", "last seen at [DATE] by the team"),
    ("can u do thurs 9 oct or the fourteenth of November", "can u do [DATE] or [DATE]"),
    ("二〇二五年十一月三日出院，民国114年8月2日复诊，2025年3月1日 14时30分抽血", "[DATE]出院，[DATE]复诊，[DATE]抽血"),
    # ages over 89 as age-sex shorthand, after a name, after "hes"
    ("pt Norma Quigley, 96F, and Mr Albert Pye, 102.", "pt [NAME], [AGE]F, and Mr [NAME], [AGE]."),
    ("grandad hes 93 now and she's nearly 100", "grandad hes [AGE] now and she's nearly [AGE]"),
    ("enrolled at 91 years, 今年 98，", "enrolled at [AGE] years, 今年 [AGE]，"),
    # ages over 89 in more shapes: sex shorthand, years of age, an ordinal year, other languages, Chinese numerals
    ("A 93M with CAP; F/94; a 96 F, fall", "A [AGE]M with CAP; F/[AGE]; a [AGE] F, fall"),
    ("93 years of age, 93y female, 92 y.o., aet. 94, a woman of 95, in his 94th year, turned 97",
     "[AGE] years of age, [AGE]y female, [AGE] y.o., aet. [AGE], a woman of [AGE], in his [AGE]th year, turned [AGE]"),
    ("âgée de 93 ans, 93-jährige, 93 anni, 享年93, 年齡：93, 阿婆今年九十三",
     "âgée de [AGE] ans, [AGE]-jährige, [AGE] anni, 享年[AGE], 年齡：[AGE], 阿婆今年[AGE]"),
    ("Zainab is 101; husband 93 with new confusion; she 92 this year; HAROLD PEMBERTON, 96, DNACPR",
     "[NAME] is [AGE]; husband [AGE] with new confusion; she [AGE] this year; [NAME], [AGE], DNACPR"),
    ("i am 92 and; At 103 she is; a 97-y-o man; I'll be 100 soon; 92 lata; 91세; (101 J.); 奶奶94了; 伯伯，91，住",
     "i am [AGE] and; At [AGE] she is; a [AGE]-y-o man; I'll be [AGE] soon; [AGE] lata; [AGE]세; ([AGE] J.); "
     "奶奶[AGE]了; 伯伯，[AGE]，住"),
    # a town after a residence cue; not a country, a state or a ward
    ("lives alone in Keswick, moving to Great Yarmouth", "lives alone in [ADDRESS], moving to [ADDRESS]"),
    ("visiting from Portugal, lives in Ohio, moved to Ward 4",) * 2,
    # a known town after a preposition (GeoNames), in English and Chinese; not an eponym, a word or a province
    ("drove up from Kettering to Gdansk via Nottingham", "drove up from [ADDRESS] to [ADDRESS] via [ADDRESS]"),
    ("pt lives in kettering now, family in Kidderminster.", "pt lives in [ADDRESS] now, family in [ADDRESS]."),
    ("他们在洛阳，老家开封的，想去郑州看病", "他们在[ADDRESS]，老家[ADDRESS]的，想去[ADDRESS]看病"),
    # phones with a country code in any country's grouping (libphonenumber); dates with month names
    # of other languages (CLDR), and lower-case months with their year
    ("call +353 1 555 0148 or +33 6 55 50 12 34", "call [PHONE] or [PHONE]"),
    ("geboren am 9. Mai 1941, né le 30 août 1972, el 2 de diciembre de 2026",
     "geboren am [DATE], né le [DATE], el [DATE]"),
    ("since nov 2026; born 23rd june 1958", "since [DATE]; born [DATE]"),
    # month and year in digits, a lower-case month before its day, an ordinal ending its phrase, holidays
    ("expiry 08/2027; next appt jan 15 at 10am; admitted the 6th. Nov '24; on Christmas Eve; mid-August 2026",
     "expiry [DATE]; next appt [DATE] at 10am; admitted [DATE]. [DATE]; on [DATE]; [DATE]"),
    # other languages' dates without a year, after an article or a weekday, and numeric after "le"
    ("sortie le lundi 9 mars; y el 12 de enero; am Mittwoch, 16. Dezember; Kontrol 3 Mart Salı; le 02/12",
     "sortie le [DATE]; y el [DATE]; am [DATE]; Kontrol [DATE]; le [DATE]"),
    ("初診日：令和8年3月5日，患者于去年12月起病，十一月三十日凌晨2点入院，12月7日（星期一）查房，生于民国二十年五月",
     "初診日：[DATE]，患者于[DATE]起病，[DATE]入院，[DATE]查房，生于[DATE]"),
    # national numbers of fixed shape, record numbers with a check digit or after their scheme's letters
    ("NI QQ 12 34 56 C, PAN BKTPD4471M, IC 780512-14-5523, 车 粤B·7K3Q9", "NI [ID], PAN [ID], IC [ID], 车 [ID]"),
    ("HN26004417(2), CR4452187-3, policy TREM 7208 3012, HCF 88219047-02", "[ID], [ID], policy [ID], [ID]"),
    ("Chart #55-08-71; CHI no. 291138 3087; MBI 1EG4-TE5-MK73; health card 4532 281 947-AK; Van YD21 KTV",
     "Chart #[ID]; CHI no. [ID]; MBI [ID]; health card [ID]; Van [ID]"),
    ("身份证：440106 19621105 8425，PhilHealth 12-050876543-9, Thai ID 1 1037 02468 13 5",
     "身份证：[ID]，PhilHealth [ID], Thai ID [ID]"),
    # addresses written street first, number first, as one word, in blocks, with units, in lower case
    ("Rua das Flores 218, apto 41, 4050-262 Porto; 4 boulevard Voltaire, 75011 Paris", "[ADDRESS]; [ADDRESS]"),
    ("Hauptstraße 112, 79098 Freiburg im Breisgau", "[ADDRESS]"),
    ("Blk 208 Bishan Street 23, #09-114, Singapore 570208", "[ADDRESS]"),
    ("at 14 dunmore rd, waterford; flat 5, 22 cherry lane, crawley", "at [ADDRESS]; [ADDRESS]"),
    ("at hers 27 ormeau ave belfast bt2 8hs the; its 14b cedar close", "at hers [ADDRESS] the; its [ADDRESS]"),
    # care homes, Irish counties and Dublin districts, a town in capitals before its postcode
    ("from Ashgrove Nursing Home, Tiverton, SBP 84; Kilkee, Co. Clare; Ballymun, Dublin 11.",
     "from [ADDRESS], SBP 84; [ADDRESS]; [ADDRESS]."),
    ("RE: WESTFIELD CARE HOME, REDRUTH TR15 2BQ —", "RE: [ADDRESS] —"),
    # abroad: postcodes of the Netherlands, Poland and Portugal, units after the number, Roman numerals, codes
    ("Keizersgracht 123-III, 1015 CJ Amsterdam; ul. Marszałkowska 10 m. 5, 00-590 Warszawa",
     "[ADDRESS]; [ADDRESS]"),
    ("Rua Augusta 100, 2.º Esq., 1100-053 Lisboa; Corso Vittorio Emanuele II 45, 10125 Torino",
     "[ADDRESS]; [ADDRESS]"),
    ("Av. Juárez 200 Int. 3, Guadalajara; No. 12, Jalan SS2/24, 47300 Petaling Jaya",
     "[ADDRESS]; [ADDRESS]"),
    ("Bât. B, 3e étage, 8 avenue Jean Jaurès, 69007 Lyon; wohnt im Seniorenheim St. Elisabeth, Köln-Nippes.",
     "[ADDRESS]; wohnt im [ADDRESS]."),
    # rural routes, named estates and parks, lower case with a state and code, a postcode after its cue
    ("RR 2 Box 118, Paris, TN 38242; Room 1608, Block 3, Lei Tung Estate, Ap Lei Chau", "[ADDRESS]; [ADDRESS]"),
    ("i'm at 88 w 4th st apt 2r new york ny 10012", "i'm at [ADDRESS]"),
    # capitals, a direction and an ordinal, Puerto Rico, the Gulf, the Philippines, Romania, Spain, Brazil
    ("RE: 22 BELGRAVE RD, LEICESTER LE4 6AR - DISCHARGE; 310 E 118th St, Apt 4C, New York, NY 10035.",
     "RE: [ADDRESS] - DISCHARGE; [ADDRESS]."),
    ("Calle Luna 152, Urb. Villa Carolina, Carolina, PR 00985; Villa 23, Street 14", "[ADDRESS]; [ADDRESS]"),
    ("House C/44, Kasoa Road, Weija, Accra; Dr Gregory House 555-123-4567", "[ADDRESS]; Dr [NAME] [PHONE]"),
    ("Purok 5, Brgy. San Isidro, Tagum City; Strada Avram Iancu 8, ap. 14, Cluj-Napoca 400083",
     "[ADDRESS]; [ADDRESS]"),
    ("Calle de Alcalá 214, 3º izq., 28028 Madrid; Rua Augusta 1450, apto 72, São Paulo - SP, 01304-001",
     "[ADDRESS]; [ADDRESS]"),
    ("户籍地址北京市朝阳区团结湖北里4号楼2门301；现住址：广州市天河区体育西路191号2栋1203房；送回幸福里养老院",
     "户籍地址[ADDRESS]；现住址：[ADDRESS]；送回[ADDRESS]"),
    # towns after other languages' prepositions, across scripts, with their district, opening "…人"
    ("moved from Texas to Boise in June; vit seule à Roubaix; from 深圳, 住 Sha Tin",
     "moved from Texas to [ADDRESS] in June; vit seule à [ADDRESS]; from [ADDRESS], 住 [ADDRESS]"),
    ("杭州人，在深圳南山区打工，家住中山路附近，住幸福里养老院三楼，邮政编码710061。",
     "[ADDRESS]人，在[ADDRESS]打工，家住[ADDRESS]附近，住[ADDRESS]三楼，邮政编码[ADDRESS]。"),
    ("lives 3/41 beach rd, coogee nsw 2034; 7b the crescent, sale m33 7ab; postcode 2600.",
     "lives [ADDRESS]; [ADDRESS]; postcode [ADDRESS]."),
    # Chinese: a unit's tail (之2, 15B), a building before its flat, a town before what one does there
    ("住址福建省厦门市思明区湖滨南路312号之4；奶奶住深圳市南山区蛇口望海路1033号海韵花园7栋15B",
     "住址[ADDRESS]；[ADDRESS]"),
    ("獨居於觀塘秀茂坪邨秀明樓2215室，从温州转来，我喺觀塘返工，去深圳出差",
     "獨居於[ADDRESS]，从[ADDRESS]转来，我喺[ADDRESS]返工，去[ADDRESS]出差"),
    # names from the lexicons (data/lexicons): alone, in capitals, surname first, after an initial, lower case
    ("Aoife rang about Chukwuemeka Obi's results", "[NAME] rang about [NAME]'s results"),
    ("Crew handover: HAROLD PEMBERTON, DNACPR", "Crew handover: [NAME], DNACPR"),
    ("Handover — SMITH, Arthur (bed 11), niece Carol Dunn", "Handover — [NAME] (bed 11), niece [NAME]"),
    ("Report: LAM Siu Ming, referred by Zhang Wei", "Report: [NAME], referred by [NAME]"),
    ("requested by T. Okonkwo; not happy. K Morris", "requested by [NAME]; not happy. [NAME]"),
    ("hi its shannon mcgrath again, Siobhán Ní Bhriain too", "hi its [NAME] again, [NAME] too"),
    ("Johannes van der Merwe and Jacqueline \"Jackie\" Moss", "[NAME] and [NAME]"),
    # other languages' titles and relatives, particles after a title, a given name that is also a word where
    # only a person fits
    ("Mevrouw de Vries; Pani Kowalska; con la Dra. Ortega; Mr van der Merwe said; córka Kasia",
     "Mevrouw [NAME]; Pani [NAME]; con la Dra. [NAME]; Mr [NAME] said; córka [NAME]"),
    ("Patient: SMITH, John, MRN; Grace says she has pain", "Patient: [NAME], MRN; [NAME] says she has pain"),
    # Japanese and Korean honorifics
    ("佐藤さん、山田先生の紹介; 김순자 씨; Tanaka-san's daughter",
     "[NAME]さん、[NAME]先生の紹介; [NAME] 씨; [NAME]-san's daughter"),
    # Chinese: a carer's or relative's nickname, a name then what they said, 老先生
    ("护工小刘陪同，孙女小芳接送。王平说血压平稳，刘老先生",
     "护工[NAME]陪同，孙女[NAME]接送。[NAME]说血压平稳，[NAME]老先生"),
    # colleagues after their role, whom a note was handed to, a form's labels in capitals
    ("Handed over to Mhairi Gillespie; Told Chaudhry; Pharmacist Yusra flagged it; registrar: Ikechukwu.",
     "Handed over to [NAME]; Told [NAME]; Pharmacist [NAME] flagged it; registrar: [NAME]."),
    ("SURNAME: MACKINNON   FORENAME: EILIDH   SEX: F", "SURNAME: [NAME]   FORENAME: [NAME]   SEX: F"),
    # Chinese: whom something was told or handed to, lists of names, a time word after a name
    ("告诉张伟明天空腹，把小结交给刘洋。值班的有孙磊、马丽、郭晓东和何静。",
     "告诉[NAME]明天空腹，把小结交给[NAME]。值班的有[NAME]、[NAME]、[NAME]和[NAME]。"),
    # Chinese: traditional surnames, honorifics, nicknames
    ("家屬黃美玲陪同，通知當值關醫生", "家屬[NAME]陪同，通知當值[NAME]醫生"),
    ("我是老王，鄧伯今天好些", "我是[NAME]，[NAME]伯今天好些"),
    # Chinese: a full name opening a record or a bracket with no cue, rarer surnames after a cue or
    # before a title, a chat's sender and a message's sign-off
    ("罗建新，乙肝表面抗原阳性；透析记录（严国华，今日）；检验危急值：施建平 血钾 6.9",
     "[NAME]，乙肝表面抗原阳性；透析记录（[NAME]，今日）；检验危急值：[NAME] 血钾 6.9"),
    ("患者单晓光，因肠梗阻；监护人钱建平，电话；祝医生已给予阿司匹林",
     "患者[NAME]，因肠梗阻；监护人[NAME]，电话；[NAME]医生已给予阿司匹林"),
    ("【微信】阿强：医生，我爸摔了，能上门吗？——苗红", "【微信】[NAME]：医生，我爸摔了，能上门吗？——[NAME]"),
    ("患者阿依古丽·买买提，住院；his father 张振华 has 便血；欧阳娜娜今天出院；9床谭明亮血氧88%；佢個仔阿明話",
     "患者[NAME]，住院；his father [NAME] has 便血；[NAME]今天出院；9床[NAME]血氧88%；佢個仔[NAME]話"),
    # IPv6, internal numbers after what names them, extensions in Chinese, a trunk zero, a dotted spelled-out e-mail
    ("opened from 2001:db8::4a1:7 and 2001:db8:4a1:7::2c, fe80::1)", "opened from [IP] and [IP], [IP])"),
    ("on ext 6623. bleep 2231); pager: 4471; 分机8621。",
     "on ext [PHONE]. bleep [PHONE]); pager: [PHONE]; 分机[PHONE]。"),
    ("单位电话(0755) 8832 1109 转 806，护士站020-8733 2100转3312", "单位电话[PHONE]，护士站[PHONE]"),
    ("| +234 (0)2 555 0143 | tui.faleolo at example dot net", "| [PHONE] | [EMAIL]"),
    # Vietnamese, Japanese and Korean addresses
    ("ở số 45 ngõ 120 Trần Duy Hưng, Cầu Giấy, Hà Nội; nhà ở thôn 2, xã Hòa Phước, Hòa Vang, Đà Nẵng.",
     "ở [ADDRESS]; nhà ở [ADDRESS]."),
    ("住所 〒980-0811 宮城県仙台市青葉区一番町3-7-1 1203号室、주소 경기도 수원시 팔달구 인계로 124, 301동 1202호, 병록",
     "住所 [ADDRESS]、주소 [ADDRESS], 병록"),
    # the parts between two pieces of one address, units before it, a postcode before its town, capitals
    ("alamat Jl. Kebon Jeruk Raya No. 27, RT 05/RW 03, Kebon Jeruk, Jakarta Barat 11530; "
     "wohnhaft Hauptstraße 12, 3. OG links, 69117 Heidelberg.", "alamat [ADDRESS]; wohnhaft [ADDRESS]."),
    ("Flat 11, Bldg 2140, Road 4132, Block 341; #1203 - 1328 W Pender St, Vancouver BC V6E 4T1.",
     "[ADDRESS]; [ADDRESS]."),
    ("Lot 1234, Jalan Besar, 53000 Kuala Lumpur", "[ADDRESS]"),  # an address's lot, not a vaccine's
    ("Returned mail: 4917 SW 8TH ST APT 12, MIAMI FL 33134, label: 2 THISTLE BRAE KIRKCALDY, ramipril",
     "Returned mail: [ADDRESS], label: [ADDRESS], ramipril"),
    # Chinese: a road's direction and a block's seat, estates (邨) and blocks, a province before its town,
    # a town's neighbourhood after a home cue
    ("现住址：广东省佛山市南海区桂城街道南海大道北89号6座1203｜", "现住址：[ADDRESS]｜"),
    ("佢哋住屯門良景邨良智樓，老家在山东临沂，现住在佛山顺德，", "佢哋住[ADDRESS]，老家在[ADDRESS]，现住在[ADDRESS]，"),
    # ages in words; national numbers of fixed shape, hyphenated groups, a prison's number, a user name
    ("review this ninety-two year old man; I'm ninety-three, love; aged one hundred and one.",
     "review this [AGE] year old man; I'm [AGE], love; aged [AGE]."),
    ("CF RSSGPP29C41F839X, CURP HELG550312MDFRPD08, hetu 131052-308T, 85.07.30-033.61, CC 1.020.445.881",
     "CF [ID], CURP [ID], hetu [ID], [ID], CC [ID]"),
    ("personnummer 19350412-4471, 784-1985-1234567-1, prison no. A4821BK, by user rad-jsmith2.",
     "personnummer [ID], [ID], prison no. [ID], by user [ID]."),
    ("Discharge summary for SHEEHAN, Bridget; MRN 55", "Discharge summary for [NAME]; MRN 55"),
    # a header in capitals, surname first; an initial before a surname in capitals
    ("PATIENT: ADEYEMI, OLUWAFEMI   WARD: 12\nTAUFA, SIONE | RENAL UNIT\nREFERRAL FOR SZYMAŃSKA, JOLANTA FROM DR X",
     "PATIENT: [NAME]   WARD: 12\n[NAME] | RENAL UNIT\nREFERRAL FOR [NAME] FROM DR X"),
    ("TO: DR W. TANGITAU   FROM: E. BRANDT (ORTHOPAEDICS)", "TO: DR [NAME]   FROM: [NAME] (ORTHOPAEDICS)"),
    # a year of birth that says its owner is over 89; a sex, a comma, then an age
    ("DOB 1930; born in 1931; YOB: 1929; 出生于1932年", "DOB [DATE]; born in [DATE]; YOB: [DATE]; 出生于[DATE]年"),
    ("Patient (F, 93) and her husband (M, 95)", "Patient (F, [AGE]) and her husband (M, [AGE])"),
    # a name no lexicon knows, opening a sentence before what only a person does
    ("Ketut is his younger brother. Dimakatso walked to the bay; Babajide Olatunji asked to go home.",
     "[NAME] is his younger brother. [NAME] walked to the bay; [NAME] asked to go home."),
    # a town typed in lower case after in or from; a Chinese town after 于
    ("the chemist on church st in ormskirk says; pam from skegness", "the chemist on church st in [ADDRESS] says; "
     "pam from [ADDRESS]"),
    ("约50岁，于东莞某工地被发现", "约50岁，于[ADDRESS]某工地被发现"),
    # given names Faker's lists lack (nam_dict's): Indian, Welsh, Scottish Gaelic, West African
    ("Priyanka Raghunathan attended; Dafydd walked to the station; cousin Eilidh rang; Aminata Diallo speaks Pular",
     "[NAME] attended; [NAME] walked to the station; cousin [NAME] rang; [NAME] speaks Pular"),
    # Chinese and Korean names in Latin letters: a surname, then syllables or a hyphened given name, or the reverse
    ("Ng Bee Leng, SZETO Ka-wai, CHAN, Siu Ming, NG KAR WAI; Chan Kwok Wing and Seo-yeon Park attended",
     "[NAME], [NAME], [NAME], [NAME]; [NAME] and [NAME] attended"),
    # a title typed in lower case, then a known surname
    ("hi dr patel, seen by dr leung, mrs pennington rang", "hi dr [NAME], seen by dr [NAME], mrs [NAME] rang"),
    # a name before what only a person has: results, tests, relatives
    ("Okonkwo's bloods are back; reviewed Tran's ECG; Barrett's OGD; Johnson's daughter rang",
     "[NAME]'s bloods are back; reviewed [NAME]'s ECG; [NAME]'s OGD; [NAME]'s daughter rang"),
    # a parent named in the notes' other languages; a town that ends an address before a closing quote
    ('WhatsApp: "mia madre Maria abita in Via Roma 3, Frazione Colle, Bergamo"; ma mère Colette; meine Mutter Ilse',
     'WhatsApp: "mia madre [NAME] abita in [ADDRESS]"; ma mère [NAME]; meine Mutter [NAME]'),
    # a nickname before the name it stands for; an Irish surname's particle
    ("Big Tony (Antonio Ruggiero) left; Bob (Robert Ellery) stays; Thanks - Paddy (Pádraig Ó Dónaill); "
     "Patient (John Smith) and GP (Dr Jones); Gran (Nomvula Dlamini); 出院带药（尹秀梅）：",
     "[NAME] ([NAME]) left; [NAME] ([NAME]) stays; Thanks - [NAME] ([NAME]); Patient ([NAME]) and GP (Dr [NAME]); "
     "Gran ([NAME]); 出院带药（[NAME]）："),
    # a nickname in quotes after what says it is one; a message signed after a dash
    ("Says he goes by 'Gaz' (Gareth Llewellyn); known on the street as \"Scouse Dave\"; not the landline - Shaz",
     "Says he goes by '[NAME]' ([NAME]); known on the street as \"[NAME]\"; not the landline - [NAME]"),
    # a known surname opening a clause before what a patient is or does in a handover
    ("Cronin admitted with a flare; Hodgson has Hodgkin lymphoma. Bay 3: Okafor (67M), NEWS 5",
     "[NAME] admitted with a flare; [NAME] has Hodgkin lymphoma. Bay 3: [NAME] (67M), NEWS 5"),
    # a street abbreviated after a preposition; a house number and a name before a known town
    ('can the script go to the chemist on Bridge St, Banbridge?"; Informant: of 8 Low Fellside, Kendal.',
     'can the script go to the chemist on [ADDRESS]?"; Informant: of [ADDRESS].'),
    # a range's first day and a Chinese weekday go with the date
    ("leave from 1st to 7th December; 17th–19th November 2026; 明天周四（3月5日）早上抽血",
     "leave from [DATE]; [DATE]; 明天[DATE]早上抽血"),
    ("DOB 2nd Sept '81, seen", "DOB [DATE], seen"),
    # initials that sign a note; a name before a person's results or appointment
    ("HCA (M.T.) at 08:10; typed by JB 11/03; Signed JKM (SpR); initials R.M.K., NYHA III; d/w KM (on-call reg); "
     "Rose's CRP rose; Tyler's appt",
     "HCA ([NAME]) at 08:10; typed by [NAME] [DATE]; Signed [NAME] (SpR); initials [NAME], NYHA III; d/w [NAME] "
     "(on-call reg); [NAME]'s CRP rose; [NAME]'s appt"),
    # ages: after "the age of", in a table, in brackets after a date of birth, before a "y" and a sex
    ("at the age of 93; Age | 91 | F; Age at death: 97; born 1931 (93); 97yF",
     "at the age of [AGE]; Age | [AGE] | F; Age at death: [AGE]; born [DATE] ([AGE]); [AGE]yF"),
    # a date in one word; a device's MAC address; a bank's sort code; social media handles
    ("07DEC2026, 15Mar61; MAC 00:1B:44:11:3A:B7; sort code 12-34-56; Twitter @jsmith88, IG: @jane.doe",
     "[DATE], [DATE]; MAC [ID]; sort code [ID]; Twitter [ID], IG: [ID]"),
    # an age over 89 after a name already found
    ("my mother-in-law Sunita Devi is 93 and cannot climb", "my mother-in-law [NAME] is [AGE] and cannot climb"),
])
def test_identifiers_are_replaced(text, expected):
    assert scrub(text, "rules") == expected


@pytest.mark.parametrize("text", [
    "BP 120/80, HR 112/min, temperature 38.5 C, pH 7.10, range 100-200 mg",
    "WBC 12.5-15.0 and INR 2.0-3.0 over the week",
    "A 45-year-old man with crushing chest pain for 40 minutes; troponin 0.8 ng/mL",
    "An 89-year-old with Parkinson disease, Bell palsy and Graves disease",
    "Cited [99000001], PMID 12345678, NCT01234567 and ISBN 978-0-19-852663-6",
    "Take 2 tablets every 8 hours for 5 days",
    "白细胞12.5-15.0×10^9/L，血压120/80mmHg，45岁男性",
    # look like the new shapes, but are clinical: a grade group, blood loss, a bed, a cycle, a serial-7s test
    "ISUP grade group 3, EBL 1200 mL, bed 12, cycle 2 day 8, serial 7s intact, SpO2 was 94 at rest",
    "住院部3楼，心内科二病区12床，分为三组",
    "this CPU has neither AVX512-BF16 nor AMX; ICD-10 J18.9, CURB-65 of 2, COVID-19 PCR",
    # near the new date, age and town shapes: doses on a day, a may, a march, vitals after a comma, durations
    "12 may be enough; 3 march past the ward; sats on air, 94. Pulse, 96; 90 years ago; for 95 years",
    "smoked for 40 years, he is 92 kg, she is 95% on air, living in fear, moved to ICU, lives in a flat",
    # towns that are not homes: a score, a rule, a word, a hospital, a province-level city, 中心 (a centre)
    "a drop in Glasgow Coma Scale, Ottawa ankle rules, in Normal saline, at Leeds General Infirmary",
    "回北京复查, 在中心医院",
    # given names that are clinical words, scores, places and things named after people
    "Na 135, ana negative, a tia in May, GERD; Frank haematuria. Grace period. Will review",
    "Braden 11, Bristol type 7, Forrest IIa, Rowan Ward, Murray Valley encephalitis, Tab. Dolo 650",
    "MR BD, Medtronic XT DR MRI, visiting from Kenya, IgE 48",
    "K+ 4.5 (+0.8), +2 pitting oedema, CRP +35 mg/L, 3 mars",
    "PMID 12345678, NCT01234567, WBC 11 000, PLT 150, ICD 10 J18.9, HbA1c 58, CD4 350, BNP 1200 ng/L",
    # config keys and paths in error lines: "lora" is a given name, "lora_rank" is not
    "unknown config key(s) lora_rank; search.lora_r: expected a list; see configs/amelia.yaml",
    "give 2 tabs via NG tube, 3 days ave 4, 2 weeks close review, Block 2 AV block, 3 mg road, unit 4 insulin",
    # near the new age shapes: Fahrenheit fevers, a vital before a sex, measures that are "is" a number
    "fever 101 F, temps to 102F, T 99 F, Tmax 101F; HR 93 M; the score is 95; Pulse is 96; husband 92 kg",
    "Barthel Index 95, Room Air 94. i am 95% sure; 血压94了; jan 2 puffs; mar 3 units; the 3rd dose; 痛咗2日",
    # near the new address shapes: a respiratory rate after a score, a fraction before a comma
    "GCS 13/15, RR 28, room air, RR 24; 3/7, RR 26 and Box 4 of the form",
    "工作人员，中心人员，在中心医院；dans le service, à la maison, em casa, w domu",
    "Murphy's sign-positive, Hartmann's solution, St Mark's solution; Dr de novo",
    "唐氏综合征，麦氏点，孙女小便失禁，医生说要住院",
    # clinical words that open with a surname character and sit where a name could: 黄疸，白细胞，
    "诊断：黄疸，白细胞 12，高热，凌晨，农民，阿姨说值班医生、社区医生和主管医生已查房。出院小结：平稳",
    # after a cue, symptoms that open with a surname character; herbs of Chinese medicine
    "患者高热3天，患者黄疸加重，患者周身乏力，患者严重贫血，患者向医生诉胸痛，家属高度紧张，女儿高热，",
    "桂枝 10g，麦冬 15g，柏子仁 10g，白薇，葛根 30g，黄芪 30g",
    # a lab table's rows are not a phone number; a continent is neither a town nor a given name
    "PAH (mg/dL)\n0 0\n10 60\n20 120\n30 150\n40 180",
    "He traveled to Asia; a mission to southeast Asia; back from Africa",
    # found on MedQA vignettes: a cue's word, then ordinary English; a town's name inside a word
    "cancer in her elder sister. Vital signs normal; brought by his wife. Thirty minutes ago; a male patient. "
    "Immediately",
    "She struggles to name colors and can name many parts of the body; levels of IgG and IgA",
    "lives in North Carolina, then New South Wales; Candida albicans grew on the swab",
    "HCO3- 22 mEq/L\nAn x-ray of the chest; sodium 118 mEq/L. He is admitted; hepatitis B. He underwent a CT",
    "【微信群·家属】夏天多喝水，秋天注意保暖",
    "Consultant Radiologist, Consultant Urologist; vaccine batch Y0482, a lot of pain",
    "联系方式见下，通知：周三病区消毒",
    "这里有3号房，那里的花园，家里的小区; the house 5 times, a villa 2, the way he walks",
    "每小时尿量30 ml，小于5岁，阿司匹林100 mg，老年患者，高血压3级，常规复查，Braden评分 11分",
    # near IPv6 and internal numbers: times, ratios, alleles, a hex word, doses and durations after "ext"
    "at 14:03:22 and 10:30, ratio 1:2:3, HLA-B*57:01, a::b, ext 4 weeks, pager 12.5 mg, ext. 12.5",
    # places in a hospital, products' batches and lots, codes; numbers and words near the new shapes
    "Pt arrived via Resus Bay 2, moved to Bed 12; Epclusa batch B44718C, MMR lot W017562, SNOMED CT 22298006",
    "住院部7楼东区，胶囊批号2601128，疫苗批號X018224",
    "she is ninety percent sure; for ninety minutes; số 3 lần mỗi ngày; user 3 of 4; Platelets 150.000/µL",
    "reviewed ECG, Grace present; mora na casa; Chào bác sĩ; Patient Emirates ID card; Pt Aadhaar card",
    # capitals, commas and initials that are no header's name: symptoms, drugs, bacteria; eponyms of two names
    "RE: NAUSEA, VOMITING\nPT: SOB, CP\nPMH: ASTHMA, ECZEMA\nT. MAJOR CHANGES; E. COLI UTI; S. AUREUS",
    "Ramsay Hunt syndrome considered; 白塞病（Behçet病）; Mirena in situ; co-trimoxazole and co-amoxiclav",
    # lower-case words after "in" that are English or short, though towns somewhere: not a home
    "carcinoma in situ, in labour, in reading glasses, in bath, in keeping with, in vivo, in utero; 于上午10时",
    # a year of birth Safe Harbor keeps (its owner is under 90); years that are no birth; a sex before a weight
    "DOB: 1975, born 1960; since 1930, in 1930 she; male, 92 kg; (F, 45)",
    # a drug or a test opening a sentence is no person, whatever follows
    "Metformin is his only drug. Colonoscopy reported polyps. Spirometry is his worst test. Aspirin was given",
    # world given names in lower case are another language's words: "parametri vitale", "ik ben"
    "diperiksa oleh perawat; parametri vitale stabili; en su casa; po ito",
    # hyphened words and short capitalised words that are no romanised name; a measure after "is"
    "Patient's daughter rang, Doctor's notes, Today's bloods, Crohn's bloods, Addison's bloods, Cushing's MRI;"
    " what she called 'dizzy spells'\nAllergies - NKDA\nReview - see above\nCXR - Clear\nFollow up - GP\nObs - stable\n"
    " Doppler ultrasound showed; Weber test lateralised; Metformin has been stopped. Warfarin was held.\n"
    " moved to bay 4 Side Room, Leeds; at St Mary's; in St Thomas' Hospital;"
    " take 2 to 3 tablets, BP 120-80;"
    " seen by GP; d/w ICU (consultant) re bed; signed DNACPR form; signed form; Friday's bloods; Crohn's nurse;"
    " Parkinson's meds;"
    " BP 130/80 (95), MAP (95), at the age of 9, HR 93 M;"
    " meet @ 3pm, sats 95% @rest, @home; 3mar, 5may;"
    " Test: Weber (lateralised); Diagnosis: Parkinson, stable; Allergies: Penicillin, latex;"
    " xt dr mri; severe mr noted, ms flare, dr screening, mr echo. NG tube inserted. Co-op pharmacy, X-ray Park"
    " ward, Pre-op Lee; Lee Kin Ward; SpO2 is 94, Her HR is 95",
])
def test_clinical_text_is_kept(text):
    assert scrub(text, "rules") == text


def test_counts_by_kind():
    _, counts = scrub_with_counts("Dr. Watson, who@tardis.org, 555-123-4567, 01/02/2020, 01/02/2021", "rules")
    assert counts == {"NAME": 1, "EMAIL": 1, "PHONE": 1, "DATE": 2}


def test_labelled_set_meets_the_targets():
    """The development set: every identifier found, nothing clinical touched (figures in the README)."""
    sentences = load_labelled(LABELLED)
    assert len(sentences) >= 200
    report = score(sentences, "rules")
    for kind in ("NAME", "DATE", "PHONE", "EMAIL", "ID", "ADDRESS"):
        assert report["kinds"][kind]["recall"] >= 0.98, (kind, report["misses"])
    assert report["overall"]["precision"] >= 0.90, report["false_alarms"]
    assert report["keep"]["changed"] == 0, report["changed"]


def test_heldout_set_keeps_every_clinical_value():
    """The held-out set was written after the rules; its recall is reported, not tuned to 1.0."""
    report = score(load_labelled(HELDOUT), "rules")
    assert report["keep"]["changed"] == 0, report["changed"]
    assert report["overall"]["precision"] >= 0.90, report["false_alarms"]
    assert report["overall"]["recall"] >= 0.85, report["misses"]


def test_labels_are_parsed_and_bad_labels_name_the_line(tmp_path):
    sentence = parse_line("Dr <NAME>Ng</NAME>, <KEEP>BP 90/60</KEEP>", "x:1")
    assert sentence.text == "Dr Ng, BP 90/60"
    assert [(s.start, s.end, s.kind) for s in sentence.phi] == [(3, 5, "NAME")]
    bad = tmp_path / "bad.txt"
    bad.write_text("# comment\n<NAME>Ng</DATE>\n")
    with pytest.raises(MedassistError, match=r"bad.txt:2: unbalanced </DATE>"):
        load_labelled(bad)


# --- properties: for any text ---------------------------------------------------------------

_IDENTIFIERS = st.one_of(
    st.from_regex(r"[a-z]{3,8}\.[a-z]{2,6}@example\.(org|com)", fullmatch=True),
    st.from_regex(r"555-[0-9]{3}-[0-9]{4}", fullmatch=True),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.from_regex(r"MRN: [0-9]{6,9}", fullmatch=True),
    st.from_regex(r"(19[0-9]{2}|20[0-2][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])", fullmatch=True),
    st.from_regex(r"[1-9][0-9]{16}[0-9X]", fullmatch=True),
)
_CONTEXT = st.sampled_from(["", "Patient ", "call ", "电话", "患者", "(", "seen ", "联系方式："])
_AFTER = st.sampled_from(["", ".", " today", "，请回电", "。", ")", " and BP 120/80"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_never_raises_and_never_grows(text):
    """Any text: no exception, spans in order and apart, and a scrubbed text holds nothing more
    to scrub (placeholders never combine with what is left into a new identifier)."""
    found = find_phi(text, "rules")
    assert all(0 <= f.start < f.end <= len(text) for f in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    cleaned = scrub(text, "rules")
    assert scrub(cleaned, "rules") == cleaned


@settings(max_examples=300, deadline=None)
@given(_CONTEXT, _IDENTIFIERS, _AFTER)
def test_an_identifier_never_survives_or_grows(before, identifier, after):
    """An identifier in any surrounding is replaced whole; scrubbing again changes nothing."""
    value = identifier.split(": ")[-1]
    cleaned = scrub(before + identifier + after, "rules")
    assert value not in cleaned
    assert not re.search(r"\d{4,}", cleaned.replace("120/80", "")), cleaned  # no part of it left behind
    assert scrub(cleaned, "rules") == cleaned


# --- the CLI ----------------------------------------------------------------------------------

def test_scrub_cli_file_and_stdin(tmp_path, capsys, monkeypatch):
    from medassist.cli import main

    source = tmp_path / "notes.txt"
    source.write_text("Seen by Dr. Grey on 04/05/2025, call 555-123-4567.\n")
    out = tmp_path / "clean.txt"
    main(["data", "scrub", str(source), "--out", str(out), "--engine", "rules"])
    assert out.read_text() == "Seen by Dr. [NAME] on [DATE], call [PHONE].\n"
    assert "scrubbed: DATE=1, NAME=1, PHONE=1" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("mail me: a.b@c.org"))
    main(["data", "scrub", "--engine", "rules"])
    assert capsys.readouterr().out == "mail me: [EMAIL]"


def test_clinical_text_lost_counts_what_is_scrubbed_from_text_without_identifiers():
    """The bench's precision figure on MedQA vignettes: every span but an age is clinical text lost."""
    texts = ["A 45-year-old man; gait is slow; BP 120/80 mmHg.", "A 92-year-old woman referred by Dr Okafor.",
             "Doppler of the left leg was normal."]
    assert clinical_text_lost(texts, "rules") == {"texts": 3, "texts_touched": 1, "spans": 1, "kinds": {"NAME": 1},
                                                  "most_common": [("NAME 'Okafor'", 1)]}


def test_phi_eval_cli_prints_the_table(tmp_path, capsys):
    from medassist.cli import main

    main(["data", "phi-eval", str(HELDOUT), "--engine", "rules", "--out", str(tmp_path / "report.json")])
    out = capsys.readouterr().out
    assert out.startswith("engine: rules\n| kind | labelled | recall |")
    assert "| NAME |" in out and "clinical values changed: 0 of" in out
    assert (tmp_path / "report.json").is_file()
